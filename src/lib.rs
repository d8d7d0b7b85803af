//! `lab`: reproduce a production topology of VMs on one machine.
//!
//! The binary is thin (`src/main.rs` → [`cli::main`]); the workflows live in
//! [`ops`], the lab file in [`spec`], the hypervisor behind [`backend`].

pub mod backend;
pub mod boxes;
pub mod builtin;
pub mod cli;
pub mod error;
pub mod fanout;
pub mod files;
pub mod forward;
pub mod interrupt;
pub mod limits;
pub mod names;
pub mod network;
pub mod ops;
pub mod paths;
pub mod process;
pub mod provision;
pub mod seed;
pub mod spec;
pub mod ssh;
pub mod state;
pub mod ui;
