//! Storage pools and volumes for [`Libvirt`]: a directory pool per host,
//! qcow2 overlays on a base image, and uploads of local files through
//! libvirt's stream API (so `lab` needs no write access to the pool).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use virt::error::ErrorNumber;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;

use super::{Libvirt, not_found};
use crate::backend::{BackendError, DiskFormat, Kind, Result, VolumeSizes, parse, xml};

/// Bytes sent per stream write when uploading a volume.
const UPLOAD_CHUNK: usize = 1 << 20;

/// Magic bytes at the start of every qcow2 image.
const QCOW2_MAGIC: &[u8; 4] = b"QFI\xfb";

impl Libvirt {
    fn pool(&self, name: &str) -> Result<Option<StoragePool>> {
        self.lookup(Kind::StoragePool, name, || {
            self.conn.lookup_storage_pool_by_name(name)
        })
    }

    fn existing_pool(&self, name: &str) -> Result<StoragePool> {
        self.pool(name)?
            .ok_or_else(|| not_found(Kind::StoragePool, name))
    }

    fn volume(&self, pool: &StoragePool, name: &str) -> Result<Option<StorageVol>> {
        self.lookup(Kind::Volume, name, || pool.lookup_storage_vol_by_name(name))
    }

    fn vol_path(&self, vol: &StorageVol, name: &str) -> Result<PathBuf> {
        vol.path().map(PathBuf::from).map_err(self.err(
            &format!("get the path of volume `{name}`"),
            Kind::Volume,
            name,
        ))
    }

    /// Stream `src` (of `size` bytes) into `vol`.
    fn stream_into(&self, vol: &StorageVol, name: &str, src: &Path, size: u64) -> Result<()> {
        let op = format!("upload {} into volume `{name}`", src.display());
        let stream = Stream::new(&self.conn, 0).map_err(self.err(&op, Kind::Volume, name))?;
        if let Err(e) = vol.upload(&stream, 0, size, 0) {
            let _ = stream.abort();
            return Err(self.err(&op, Kind::Volume, name)(e));
        }
        match self.send_file(&stream, &op, name, src) {
            Ok(()) => stream.finish().map_err(self.err(&op, Kind::Volume, name)),
            Err(e) => {
                let _ = stream.abort();
                Err(e)
            }
        }
    }

    fn send_file(&self, stream: &Stream, op: &str, name: &str, src: &Path) -> Result<()> {
        let io = |cause| BackendError::Io {
            path: src.to_path_buf(),
            cause,
        };
        let mut file = File::open(src).map_err(io)?;
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            let mut sent = 0;
            while sent < n {
                let k = stream
                    .send(&buf[sent..n])
                    .map_err(self.err(op, Kind::Volume, name))?;
                match usize::try_from(k) {
                    Ok(k) if k > 0 => sent += k.min(n - sent),
                    _ => {
                        return Err(BackendError::Failed {
                            op: op.to_string(),
                            message: "the stream stopped accepting data".into(),
                        });
                    }
                }
            }
        }
    }

    pub(super) fn ensure_pool_impl(&self, name: &str, dir: &Path) -> Result<()> {
        let op = format!("set up storage pool `{name}` at {}", dir.display());
        let e = || self.err(&op, Kind::StoragePool, name);
        let pool = match self.pool(name)? {
            Some(pool) => {
                let existing = pool.xml_desc(0).ok().and_then(|x| parse::pool_path(&x));
                if let Some(existing) = existing.map(PathBuf::from)
                    && existing != dir
                {
                    return Err(BackendError::PoolElsewhere {
                        name: name.to_string(),
                        existing,
                        wanted: dir.to_path_buf(),
                    });
                }
                pool
            }
            None => {
                let pool = self
                    .conn
                    .define_storage_pool_xml(&xml::pool_xml(name, dir), 0)
                    .map_err(e())?;
                pool.build(sys::VIR_STORAGE_POOL_BUILD_NEW).map_err(e())?;
                pool
            }
        };
        if pool.is_active().map_err(e())? {
            // Pick up volumes written into the directory behind libvirt's back.
            let _ = pool.refresh(0);
        } else {
            pool.create(0).map_err(e())?;
        }
        if !pool.autostart().unwrap_or(false) {
            pool.set_autostart(true).map_err(e())?;
        }
        Ok(())
    }

    pub(super) fn pool_free_bytes_impl(&self, name: &str) -> Result<Option<u64>> {
        let pool = self.existing_pool(name)?;
        let e = || {
            self.err(
                "read the free space of storage pool",
                Kind::StoragePool,
                name,
            )
        };
        if !pool.is_active().map_err(e())? {
            return Ok(None);
        }
        let _ = pool.refresh(0);
        Ok(Some(pool.info().map_err(e())?.available))
    }

    pub(super) fn volume_path_impl(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        let pool = self.existing_pool(pool)?;
        match self.volume(&pool, name)? {
            Some(vol) => Ok(Some(self.vol_path(&vol, name)?)),
            None => Ok(None),
        }
    }

    pub(super) fn create_overlay_impl(
        &self,
        pool: &str,
        name: &str,
        backing: &Path,
        capacity_gib: u64,
    ) -> Result<PathBuf> {
        let p = self.existing_pool(pool)?;
        let capacity = capacity_gib.saturating_mul(1 << 30);
        let xml = xml::volume_xml(
            name,
            DiskFormat::Qcow2,
            capacity,
            None,
            Some((backing, DiskFormat::Qcow2)),
        );
        let op = format!("create volume `{name}` on {}", backing.display());
        let vol = StorageVol::create_xml(&p, &xml, 0).map_err(self.err(&op, Kind::Volume, name))?;
        self.vol_path(&vol, name)
    }

    pub(super) fn upload_volume_impl(
        &self,
        pool: &str,
        name: &str,
        src: &Path,
        format: DiskFormat,
    ) -> Result<PathBuf> {
        let io = |cause| BackendError::Io {
            path: src.to_path_buf(),
            cause,
        };
        let size = std::fs::metadata(src).map_err(io)?.len();
        if format == DiskFormat::Qcow2 {
            let mut magic = [0u8; 4];
            File::open(src)
                .and_then(|mut f| f.read_exact(&mut magic))
                .map_err(io)?;
            if &magic != QCOW2_MAGIC {
                return Err(BackendError::Rejected {
                    kind: Kind::Volume,
                    name: name.to_string(),
                    message: format!("{} is not a qcow2 image", src.display()),
                });
            }
        }
        let p = self.existing_pool(pool)?;
        // The volume is created as a raw file of exactly the source's size
        // and the bytes are copied verbatim, whatever the content: creating it
        // as qcow2 would make libvirt write a fresh qcow2 header first, and
        // the capacity would have to be the image's virtual size. Disks and
        // overlays name the format explicitly, so libvirt's idea of this
        // volume's format does not matter (a pool refresh probes it anyway).
        let xml = xml::volume_xml(name, DiskFormat::Raw, size, Some(0), None);
        let op = format!("create volume `{name}` for {}", src.display());
        let vol = StorageVol::create_xml(&p, &xml, 0).map_err(self.err(&op, Kind::Volume, name))?;
        if let Err(e) = self.stream_into(&vol, name, src, size) {
            let _ = vol.delete(0);
            return Err(e);
        }
        self.vol_path(&vol, name)
    }

    pub(super) fn delete_volume_impl(&self, pool: &str, name: &str) -> Result<()> {
        let Some(p) = self.pool(pool)? else {
            return Ok(());
        };
        let Some(vol) = self.volume(&p, name)? else {
            return Ok(());
        };
        match vol.delete(0) {
            Ok(()) => Ok(()),
            Err(e) if e.code().is(ErrorNumber::NoStorageVolume) => Ok(()),
            Err(e) => Err(self.err(
                &format!("delete volume `{name}`"),
                Kind::Volume,
                name,
            )(e)),
        }
    }

    pub(super) fn list_volumes_impl(&self, pool: &str) -> Result<Vec<String>> {
        let p = self.existing_pool(pool)?;
        let mut names = p.list_volumes().map_err(self.err(
            &format!("list volumes of `{pool}`"),
            Kind::StoragePool,
            pool,
        ))?;
        names.sort();
        Ok(names)
    }

    pub(super) fn volume_sizes_impl(&self, pool: &str, name: &str) -> Result<Option<VolumeSizes>> {
        let Some(p) = self.pool(pool)? else {
            return Ok(None);
        };
        let Some(vol) = self.volume(&p, name)? else {
            return Ok(None);
        };
        // libvirt refreshes a directory pool's volume (stat) on this call.
        let info = vol.info().map_err(self.err(
            &format!("read the size of volume `{name}`"),
            Kind::Volume,
            name,
        ))?;
        Ok(Some(VolumeSizes {
            capacity: info.capacity,
            allocation: info.allocation,
        }))
    }

    pub(super) fn volume_backing_impl(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        let Some(p) = self.pool(pool)? else {
            return Ok(None);
        };
        let Some(vol) = self.volume(&p, name)? else {
            return Ok(None);
        };
        let xml = vol.xml_desc(0).map_err(self.err(
            &format!("read the definition of volume `{name}`"),
            Kind::Volume,
            name,
        ))?;
        Ok(parse::backing_path(&xml).map(PathBuf::from))
    }
}
