//! Port Inspector: can this program bind this address and port? If not, exactly why, and who is
//! in the way?
//!
//! The core (everything but `cli` and `gui`) takes and returns plain serde values and never prints;
//! the command line and the window are two renderings of the same values.

pub mod build_info;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod close;
pub mod diagnose;
pub mod end;
pub mod export;
pub mod facts;
pub mod files;
#[cfg(feature = "gui")]
pub mod gui;
pub mod nat;
pub mod oserror;
pub mod owners;
mod par;
pub mod platform;
pub mod probe;
pub mod program;
pub mod record;
pub mod remote;
pub mod render;
pub mod scan;
pub mod support;
pub mod target;
pub mod text;
pub mod tools;
pub mod watch;
#[cfg(windows)]
mod winsock;
pub mod wording;

pub use target::{Family, Protocol, SocketOptions, Target};
