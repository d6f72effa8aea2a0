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
    /// How the commands this run prints name the program, decided once, here: `port-inspector` when
    /// that name, looked up on PATH as a shell would, is this same executable; else the path of this
    /// executable (run as `./target/release/port-inspector`, or from an unpacked tarball, the name
    /// finds no program or another one, and a printed `port-inspector check …` would not run).
    /// A front calls it once at its start (the CLI, the window) and hands the value down.
    #[must_use]
    pub fn this() -> Program {
        let Ok(me) = std::env::current_exe() else {
            return Program::OnPath;
        };
        let file = format!("{}{}", NAME, std::env::consts::EXE_SUFFIX);
        let found = std::env::var_os("PATH").and_then(|dirs| {
            std::env::split_paths(&dirs)
                .map(|d| d.join(&file))
                .find(|p| p.is_file())
        });
        let same = |p: &std::path::Path| {
            matches!(
                (std::fs::canonicalize(p), std::fs::canonicalize(&me)),
                (Ok(a), Ok(b)) if a == b
            )
        };
        if found.as_deref().is_some_and(same) {
            Program::OnPath
        } else {
            Program::At(me.to_string_lossy().into_owned())
        }
    }

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
