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
    /// `port-inspector` on PATH runs this executable, from a folder that `sudo` does not search
    /// (`~/.cargo/bin`, `/usr/local/bin` on Fedora and RHEL): sudo resets PATH to its
    /// `secure_path`, so `sudo port-inspector` would say "command not found". Commands without
    /// sudo name the program; those with sudo name this path.
    OnUserPath(String),
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
        if let Some(found) = found.filter(|p| same(p)) {
            if found.parent().is_some_and(sudo_searches) {
                Program::OnPath
            } else {
                Program::OnUserPath(found.to_string_lossy().into_owned())
            }
        } else {
            Program::At(me.to_string_lossy().into_owned())
        }
    }

    /// The program as a shell command's first word, before quoting: `port-inspector`, or the
    /// path.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Program::OnPath | Program::OnUserPath(_) => NAME,
            Program::At(path) => path,
        }
    }

    /// The program as named after `sudo`: `port-inspector` only where sudo's own PATH finds
    /// it, else its path.
    #[must_use]
    pub fn under_sudo(&self) -> Program {
        match self {
            Program::OnUserPath(path) => Program::At(path.clone()),
            other => other.clone(),
        }
    }
}

/// Whether `dir` is one `sudo` searches on every common system. sudo replaces PATH with its
/// `secure_path` (root may read /etc/sudoers, the user who needs sudo cannot), and the folders
/// every distribution's default has are these: Debian's and Ubuntu's add `/usr/local/bin`,
/// Fedora's and RHEL's do not. `/bin` is `/usr/bin` on a merged-/usr system, so both sides
/// are compared resolved.
fn sudo_searches(dir: &std::path::Path) -> bool {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .any(|d| std::fs::canonicalize(d).is_ok_and(|d| d == dir))
}

/// The installed program's name.
pub const NAME: &str = "port-inspector";
