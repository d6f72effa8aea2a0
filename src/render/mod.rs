//! The render layer: every text a front prints about a feature's result (sockets, `end`'s plan and
//! report, hold and watch lines), made from the typed result, the same for the CLI, the window and
//! the report. It sits above the features; the diagnosis words (`wording`: explanations, titles,
//! findings, fixes) sit below `check` and import nothing from here.

mod end;
pub mod facts;
pub mod hold;
pub mod matrix;
pub mod program;
pub mod remote;
pub mod report;
pub mod scan;
mod sockets;

/// How a line reads at a glance, for a front that colours (the CLI on a terminal): set where the
/// line is made from the value, never guessed later from its words (a process named `IN USE` must
/// not turn a line red).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing to mark.
    Plain,
    /// The answer the user hoped for: bindable.
    Good,
    /// A failure: not bindable, a failed step, a port in use.
    Bad,
}

/// One line of a text answer with its tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// How it reads at a glance.
    pub tone: Tone,
    /// The words (outside text in it already escaped).
    pub text: String,
}

/// Text answers built line by line: `plain` and `toned` take text that may hold newlines (each
/// becomes a line of the same tone); `text` joins them for a front that does not colour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines(pub Vec<Line>);

impl Lines {
    /// Adds text without a tone.
    pub fn plain(&mut self, text: &str) {
        self.toned(Tone::Plain, text);
    }

    /// Adds text with a tone.
    pub fn toned(&mut self, tone: Tone, text: &str) {
        self.0.extend(text.split('\n').map(|l| Line {
            tone,
            text: l.to_owned(),
        }));
    }

    /// The lines as text, each ended by a newline.
    #[must_use]
    pub fn text(&self) -> String {
        self.0.iter().fold(String::new(), |mut o, l| {
            o.push_str(&l.text);
            o.push('\n');
            o
        })
    }
}

pub use end::{PlanWords, end_plan, end_plan_words, end_report};
pub use hold::{hold_released, still_not_bindable};
pub use sockets::{connection_lines, owner_lines, socket_table};
