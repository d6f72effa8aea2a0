//! How a printed command names this program ("port-inspector check …", "sudo port-inspector
//! record"): a value a front decides once, from where it was started, and hands down; the words
//! never look at the environment themselves.

/// The program's name at the head of every command the tool prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Program {
    /// `port-inspector`: that name, looked up on PATH, runs this same executable (an installed
    /// program). Also what a front that prints no commands leaves it at.
    #[default]
    OnPath,
    /// The path of this executable, where `port-inspector` on PATH is another program or none
    /// (run as `./target/release/port-inspector`, or from an unpacked tarball).
    At(String),
}

impl Program {
    /// The program as a shell command's first word, before quoting: `port-inspector`, or the
    /// path.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Program::OnPath => NAME,
            Program::At(path) => path,
        }
    }
}

/// The installed program's name.
pub const NAME: &str = "port-inspector";
