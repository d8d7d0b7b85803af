//! `lab __forward --listen ADDR:PORT --to IP:PORT [--via USER@HOST]` (hidden): the relay
//! process `lab up` starts, detached, for each of the lab's `forwards:`
//! ([`crate::forward::serve`]).

use std::net::SocketAddr;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Address and port every connection is forwarded to.
    #[arg(long, value_name = "IP:PORT")]
    pub to: SocketAddr,
    /// Reach `--to` through this host's sshd (`ssh -W`, with the user's
    /// ssh config for it).
    #[arg(long, value_name = "USER@HOST")]
    pub via: Option<String>,
    /// Wait for `go` on stdin before listening and report on stdout (how
    /// `lab up` starts it, once its pid is recorded).
    #[arg(long)]
    pub handshake: bool,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(via) = &args.via
        && let Err(why) = crate::names::ssh_login(via)
    {
        anyhow::bail!("--via {} {why}", crate::names::quoted(via));
    }
    let via = args.via.map(crate::ssh::Jump::new);
    crate::forward::serve(args.listen, args.to, via, args.handshake)
}
