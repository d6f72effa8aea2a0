//! `cargo xtask dist`: every package a user installs, built on Linux into `target/dist/`.
//!
//! Linux: a `.deb` with the window, a `port-inspector-cli` `.deb` without it (for servers), the
//! same two as `.rpm`, and a `.tar.gz`. Windows, when the exe built by `.ci/windows` is given or
//! found: a portable `.zip` and an `.msi` (wixl). `SHA256SUMS` over all of them. Each format is
//! made by the tool its own ecosystem uses (dpkg-deb, rpmbuild, wixl, tar, zip), so what the
//! packages hold is what `dpkg -c`, `rpm -qpl` and `msiexec` see, with no second implementation
//! of a format here to trust.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod layout;
mod msi;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask dist [--windows-exe PATH]
       cargo xtask msi --exe PATH --version X.Y.Z --out FILE.msi

dist     builds the release binaries (with the window, and --no-default-features) and writes
         every package into target/dist/ (under CARGO_TARGET_DIR when set).
         --windows-exe PATH  the Windows exe to package (.zip, .msi); without it, the exe that
                             .ci/windows built is looked for, and the Windows packages are
                             skipped, saying so, when there is none of this version.
msi      one MSI of any version from a given exe (the upgrade test installs a newer one over
         the older).";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") => Dist::parse(&args[1..]).and_then(|d| d.run()),
        Some("msi") => msi_command(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing task\n{USAGE}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The options of `dist`.
struct Dist {
    windows_exe: Option<PathBuf>,
}

impl Dist {
    fn parse(args: &[String]) -> Result<Self> {
        let mut d = Self { windows_exe: None };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--windows-exe" => {
                    let p = it.next().ok_or("--windows-exe needs a path")?;
                    d.windows_exe = Some(PathBuf::from(p));
                }
                other => return Err(format!("unknown option {other}\n{USAGE}")),
            }
        }
        Ok(d)
    }

    fn run(&self) -> Result {
        let root = workspace_root();
        let version = package_version(&root)?;
        let target = target_dir(&root);
        let out = target.join("dist");
        let work = target.join("dist-work");
        for d in [&out, &work] {
            if d.exists() {
                std::fs::remove_dir_all(d)
                    .map_err(|e| format!("cannot clear {}: {e}", d.display()))?;
            }
            mkdir(d)?;
        }
        let epoch = source_date_epoch(&root);
        let gui_bin = work.join("gui/port-inspector");
        let cli_bin = work.join("cli/port-inspector");
        for (bin, features) in [
            (&gui_bin, &[][..]),
            (&cli_bin, &["--no-default-features"][..]),
        ] {
            // Each feature set keeps its own build in target/, so a second run rebuilds nothing;
            // only the binary at target/release/ is the last one built, hence the copy.
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            run(Command::new(cargo)
                .current_dir(&root)
                .args(["build", "--release", "--locked", "--bin", "port-inspector"])
                .args(features)
                .env("SOURCE_DATE_EPOCH", epoch.to_string()))?;
            mkdir(bin.parent().ok_or("no parent")?)?;
            let built = target.join("release/port-inspector");
            copy(&built, bin, 0o755)?;
        }
        // The CLI build came last; the window build is the larger one. A mix-up (a CLI binary in
        // the window's packages) is caught here rather than by a user.
        if size(&gui_bin)? <= size(&cli_bin)? {
            return Err("the window build is not larger than the command-line build: did one of the builds not run?".into());
        }
        let version_line =
            String::from_utf8_lossy(&output(Command::new(&gui_bin).arg("--version"))?).into_owned();
        if !version_line.starts_with(&format!("port-inspector {version} ")) {
            return Err(format!(
                "target/release/port-inspector says {version_line:?}, not version {version}"
            ));
        }
        let generated = layout::Generated::make(&gui_bin, &work.join("generated"))?;
        let ctx = layout::Ctx {
            root: root.clone(),
            version: version.clone(),
            epoch,
            generated,
        };
        let mut made = Vec::new();
        for pkg in [layout::Flavour::Gui, layout::Flavour::Cli] {
            let bin = if pkg == layout::Flavour::Gui {
                &gui_bin
            } else {
                &cli_bin
            };
            made.push(layout::deb(&ctx, pkg, bin, &work, &out)?);
            made.push(layout::rpm(&ctx, pkg, bin, &work, &out)?);
        }
        made.push(layout::tarball(&ctx, &gui_bin, &work, &out)?);
        match self.windows_exe(&root, &target, &version)? {
            Some(exe) => {
                made.push(layout::windows_zip(&ctx, &gui_bin, &exe, &work, &out)?);
                let msi_path = out.join(format!("port-inspector-{version}-x86_64.msi"));
                msi::build(&root, &exe, &version, &work.join("msi"), &msi_path)?;
                made.push(msi_path);
            }
            None => println!(
                "\nSKIPPED the Windows packages (.zip, .msi): no port-inspector.exe of version {version}; build it with .ci/windows or give --windows-exe PATH"
            ),
        }
        let sums = sha256sums(&out, &made)?;
        made.push(sums);
        println!("\nwrote into {}:", out.display());
        for f in &made {
            println!(
                "  {:>10} bytes  {}",
                size(f)?,
                f.file_name().unwrap_or_default().to_string_lossy()
            );
        }
        std::fs::remove_dir_all(&work)
            .map_err(|e| format!("cannot remove {}: {e}", work.display()))?;
        Ok(())
    }

    /// The exe to package: the one given (which must be a Windows exe of this version), else the
    /// release exe of a Windows build in this target dir or in .ci/windows' cache, when it is of
    /// this version. `None` means the Windows packages are skipped.
    fn windows_exe(&self, root: &Path, target: &Path, version: &str) -> Result<Option<PathBuf>> {
        if let Some(p) = &self.windows_exe {
            return match msi::exe_version_ok(p, version) {
                Ok(()) => Ok(Some(p.clone())),
                Err(e) => Err(format!("--windows-exe {}: {e}", p.display())),
            };
        }
        let rel = "x86_64-pc-windows-gnu/release/port-inspector.exe";
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        let mut candidates = vec![target.join(rel), root.join("target").join(rel)];
        if let Some(dir) = std::env::var_os("WIN_TARGET_DIR") {
            candidates.insert(0, PathBuf::from(dir).join(rel));
        }
        // .ci/windows' cache: WIN_ROOT, else ~/.cache/port-inspector-windows.
        if let Some(dir) = std::env::var_os("WIN_ROOT") {
            candidates.push(PathBuf::from(dir).join("target").join(rel));
        } else if let Some(c) = cache {
            candidates.push(c.join("port-inspector-windows/target").join(rel));
        }
        for c in candidates.iter().filter(|c| c.is_file()) {
            match msi::exe_version_ok(c, version) {
                Ok(()) => {
                    println!("Windows exe: {}", c.display());
                    return Ok(Some(c.clone()));
                }
                Err(e) => println!("not packaging {}: {e}", c.display()),
            }
        }
        Ok(None)
    }
}

/// `cargo xtask msi --exe PATH --version X.Y.Z --out FILE`.
fn msi_command(args: &[String]) -> Result {
    let (mut exe, mut version, mut out) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--exe" => exe = Some(PathBuf::from(value)),
            "--version" => version = Some(value.clone()),
            "--out" => out = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let (Some(exe), Some(version), Some(out)) = (exe, version, out) else {
        return Err(format!("msi needs --exe, --version and --out\n{USAGE}"));
    };
    let work = std::env::temp_dir().join(format!("xtask-msi-{}", std::process::id()));
    let r = msi::build(&workspace_root(), &exe, &version, &work, &out);
    let _ = std::fs::remove_dir_all(&work);
    r?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The workspace root: this crate's parent folder. `cargo run` says where this crate is when it
/// runs it; the folder it was compiled in is the fallback (a copy of the tree may share a target
/// folder with the original, and must package its own files).
fn workspace_root() -> PathBuf {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    here.parent().map_or(here.clone(), Path::to_path_buf)
}

/// Where cargo builds: CARGO_TARGET_DIR when set, else `target/` in the workspace.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The `version` of `[package]` in the root Cargo.toml (the one version every package carries).
fn package_version(root: &Path) -> Result<String> {
    let text = read_to_string(&root.join("Cargo.toml"))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(v) = line.strip_prefix("version")
            && let Some(v) = v.trim_start().strip_prefix('=')
        {
            let v = v.trim().trim_matches('"');
            if !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
            {
                return Ok(v.to_owned());
            }
        }
    }
    Err("no version in [package] of Cargo.toml".into())
}

/// The time every file in the packages carries: SOURCE_DATE_EPOCH when set, else the time of the
/// last commit, so two runs on one commit give the same archives.
fn source_date_epoch(root: &Path) -> u64 {
    if let Some(s) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return s;
    }
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `SHA256SUMS` in the form `sha256sum -c` checks, one line per file, sorted by name.
fn sha256sums(out: &Path, files: &[PathBuf]) -> Result<PathBuf> {
    let mut names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let sums = output(Command::new("sha256sum").current_dir(out).args(&names))?;
    let path = out.join("SHA256SUMS");
    write(&path, &sums, 0o644)?;
    Ok(path)
}

/// Runs a command, saying it first; a failure names the command.
fn run(cmd: &mut Command) -> Result {
    println!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", show(cmd)))
    }
}

/// Runs a command for its standard output; its standard error passes through.
fn output(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("{} failed ({})", show(cmd), out.status))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let _ = write!(s, " {}", a.to_string_lossy());
    }
    s
}

fn mkdir(p: &Path) -> Result {
    std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
}

fn read_to_string(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

fn size(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .len())
}

/// Writes a file with an exact mode (a packager's umask must not leak into the packages).
fn write(p: &Path, bytes: &[u8], mode: u32) -> Result {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(dir) = p.parent() {
        mkdir(dir)?;
    }
    std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", p.display()))
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result {
    let bytes = std::fs::read(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    write(to, &bytes, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_root_package_s() {
        let root = workspace_root();
        let v = package_version(&root).unwrap_or_default();
        let toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
        assert!(!v.is_empty(), "a version was read");
        assert!(
            toml.contains(&format!("version = \"{v}\"")),
            "{v} is the one in Cargo.toml"
        );
    }

    #[test]
    fn options_are_parsed_and_unknown_ones_refused() {
        let d = Dist::parse(&["--windows-exe".into(), "a.exe".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            d.windows_exe.as_deref(),
            Some(Path::new("a.exe")),
            "the exe"
        );
        assert!(Dist::parse(&["--frobnicate".into()]).is_err(), "refused");
        assert!(
            Dist::parse(&["--windows-exe".into()]).is_err(),
            "needs a value"
        );
    }
}
