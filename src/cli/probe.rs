//! `lab __probe` (hidden): the readiness probe `lab up` uses, on its own,
//! for `scripts/bench` to time the floor (domains started by plain virsh).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::ssh::{self, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Guest addresses to wait for (in parallel).
    #[arg(required = true)]
    pub ips: Vec<IpAddr>,
    #[arg(long, default_value = "lab")]
    pub user: String,
    #[arg(long)]
    pub key: PathBuf,
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

/// Prints `IP SECONDS` per guest as each becomes ready.
pub fn run(args: Args) -> Result<()> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.timeout);
    let results = crate::fanout::each(&args.ips, |ip| {
        let t = Target {
            ip: *ip,
            port: 22,
            user: args.user.clone(),
            key: args.key.clone(),
            vagrant_key: false,
            jump: None,
        };
        let r = ssh::wait_ready(&t, deadline, &ssh::probe, |_| {});
        let secs = start.elapsed().as_secs_f64();
        match r {
            Ok(_) => {
                println!("{} {secs:.1}", t.ip);
                true
            }
            Err(state) => {
                eprintln!("{} not ready: {state:?}", t.ip);
                false
            }
        }
    });
    let ok = results.into_iter().all(|r| r);
    if !ok {
        bail!("not every guest became ready");
    }
    Ok(())
}
