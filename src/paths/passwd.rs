//! The password database (getpwnam_r/getpwuid_r, passwd(5)): one entry,
//! read with a buffer of its own, for the user's home ([`super::home_dir`])
//! and `lab doctor`'s users (the pool's readers, QEMU's user).

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Room for the strings of one passwd or group entry, bytes.
pub const NSS_BUF: usize = 16 << 10;

/// One user's passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Login name (`pw_name`).
    pub name: String,
    /// User id (`pw_uid`).
    pub uid: u32,
    /// Primary group id (`pw_gid`).
    pub gid: u32,
    /// Home directory (`pw_dir`), as its bytes.
    pub home: PathBuf,
}

/// The entry of the user called `name`; `None` without one (or on a
/// lookup error).
pub fn by_name(name: &str) -> Option<Entry> {
    let c = CString::new(name).ok()?;
    entry(&|pwd, buf: &mut [libc::c_char], out| {
        // SAFETY: valid pointers; buf.len() bytes of buffer.
        unsafe { libc::getpwnam_r(c.as_ptr(), pwd, buf.as_mut_ptr(), buf.len(), out) }
    })
}

/// The entry of user id `uid`; `None` without one (or on a lookup error).
pub fn by_uid(uid: u32) -> Option<Entry> {
    entry(&|pwd, buf: &mut [libc::c_char], out| {
        // SAFETY: valid pointers; buf.len() bytes of buffer.
        unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr(), buf.len(), out) }
    })
}

type Lookup<'a> =
    dyn Fn(*mut libc::passwd, &mut [libc::c_char], *mut *mut libc::passwd) -> libc::c_int + 'a;

fn entry(lookup: &Lookup) -> Option<Entry> {
    let mut buf = vec![0 as libc::c_char; NSS_BUF];
    // SAFETY: an all-zero passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    if lookup(&mut pwd, &mut buf, &mut out) != 0 || out.is_null() {
        return None;
    }
    // SAFETY: on success pw_name and pw_dir point to NUL-terminated
    // strings in buf (or are null), read while buf lives.
    let text = |p: *const libc::c_char| {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
    };
    Some(Entry {
        name: String::from_utf8_lossy(&text(pwd.pw_name)?).into_owned(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home: PathBuf::from(OsStr::from_bytes(&text(pwd.pw_dir).unwrap_or_default())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_by_id_and_by_name_alike() {
        let root = by_uid(0).expect("uid 0 has an entry");
        assert_eq!(root.name, "root");
        assert!(root.home.is_absolute(), "{root:?}");
        assert_eq!(by_name("root"), Some(root));
        assert_eq!(by_name("no-such-user-lab-test"), None);
        assert_eq!(by_name("nul\0inside"), None);
    }
}
