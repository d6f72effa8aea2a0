//! The render layer: every text a front prints about a feature's result (sockets, `end`'s plan and
//! report, hold and watch lines), made from the typed result, the same for the CLI, the window and
//! the report. It sits above the features; the diagnosis words (`wording`: explanations, titles,
//! findings, fixes) sit below `check` and import nothing from here.

mod end;
mod hold;
mod sockets;

pub use end::{end_plan, end_report};
pub use hold::{hold_released, still_not_bindable};
pub use sockets::{owner_lines, socket_table};
