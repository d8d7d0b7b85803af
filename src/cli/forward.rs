//! `lab __forward --listen ADDR:PORT --to IP:PORT` (hidden): the relay
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
    /// Wait for `go` on stdin before listening and report on stdout (how
    /// `lab up` starts it, once its pid is recorded).
    #[arg(long)]
    pub handshake: bool,
}

pub fn run(args: Args) -> Result<()> {
    crate::forward::serve(args.listen, args.to, args.handshake)
}
