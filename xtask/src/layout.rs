//! What goes where: the file tree of each Linux package (.deb, .rpm, .tar.gz) and of the Windows
//! zip, and the packaging tool that turns each tree into its package.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, copy, mkdir, output, read_to_string, run, write};

/// The Debian/RPM maintainer field (the address the project's commits carry).
const MAINTAINER: &str =
    "Port Inspector maintainers <maintainers@users.noreply.b-seed-0f1d9550.example>";
/// One line for package managers' lists (no leading article, no final full stop: Debian policy).
const SYNOPSIS: &str = "check whether a program can bind a port, and why not";
/// The long description, one paragraph per line.
const DESCRIPTION: [&str; 2] = [
    "Port Inspector runs the real bind sequence (getaddrinfo, socket, setsockopt, bind, listen, close) for every address a name resolves to and, when a bind fails, names the error the Winsock way and the native way, the cause proven on this machine (which process holds the port, a wildcard or dual-stack clash, TIME_WAIT leftovers, a privileged port, an address that is not assigned here) and what to do about it.",
    "It scans ranges, lists every listening socket with its process, and writes reports for tickets.",
];
/// The libraries the window opens at run time (winit and glow load them with dlopen, so no
/// ELF dependency names them): Debian package names and the sonames RPM distributions provide.
const GUI_DEBS: &str = "libgl1, libegl1, libxkbcommon-x11-0, libxkbcommon0, libxcursor1, libxrandr2, libxi6, libx11-6, libx11-xcb1";
/// A driver and the Wayland client libraries: wanted on a desktop, not needed to run.
const GUI_DEB_RECOMMENDS: &str =
    "libgl1-mesa-dri, libwayland-client0, libwayland-cursor0, libwayland-egl1";
const GUI_RPM_REQUIRES: [&str; 9] = [
    "libGL.so.1()(64bit)",
    "libEGL.so.1()(64bit)",
    "libxkbcommon-x11.so.0()(64bit)",
    "libxkbcommon.so.0()(64bit)",
    "libXcursor.so.1()(64bit)",
    "libXrandr.so.2()(64bit)",
    "libXi.so.6()(64bit)",
    "libX11.so.6()(64bit)",
    "libX11-xcb.so.1()(64bit)",
];
const ICON_SIZES: [u32; 3] = [48, 128, 256];

/// Which build a package carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// The window and the command line (`port-inspector`).
    Gui,
    /// The command line alone, no GUI libraries (`port-inspector-cli`).
    Cli,
}

impl Flavour {
    fn package(self) -> &'static str {
        match self {
            Self::Gui => "port-inspector",
            Self::Cli => "port-inspector-cli",
        }
    }

    /// The other package: both install /usr/bin/port-inspector, so one replaces the other.
    fn other(self) -> Self {
        match self {
            Self::Gui => Self::Cli,
            Self::Cli => Self::Gui,
        }
    }
}

/// What the binary makes of its own definitions: the man pages (gzipped, as distributions ship
/// them) and the shell completions.
pub struct Generated {
    /// (file name, gzip bytes), e.g. `port-inspector-check.1.gz`.
    pub man: Vec<(String, Vec<u8>)>,
    pub bash: Vec<u8>,
    pub zsh: Vec<u8>,
    pub fish: Vec<u8>,
    pub powershell: Vec<u8>,
}

impl Generated {
    pub fn make(bin: &Path, dir: &Path) -> Result<Self> {
        let man_dir = dir.join("man");
        mkdir(&man_dir)?;
        run(Command::new(bin).args(["man", "--dir"]).arg(&man_dir))?;
        let mut man = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&man_dir)
            .map_err(|e| format!("{}: {e}", man_dir.display()))?
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".1"))
            .collect();
        names.sort();
        for n in names {
            // -n: no name or time in the gzip header, so the bytes depend on the page alone.
            let gz = output(
                Command::new("gzip")
                    .args(["-9n", "-c"])
                    .arg(man_dir.join(&n)),
            )?;
            man.push((format!("{n}.gz"), gz));
        }
        if man.len() < 2 {
            return Err("`port-inspector man --dir` wrote fewer than two pages".into());
        }
        let completions = |shell: &str| output(Command::new(bin).args(["completions", shell]));
        Ok(Self {
            man,
            bash: completions("bash")?,
            zsh: completions("zsh")?,
            fish: completions("fish")?,
            powershell: completions("powershell")?,
        })
    }
}

/// The flight recorder's systemd unit: shipped in the .deb and .rpm (whose binary is
/// /usr/bin/port-inspector, the unit's ExecStart), never enabled by the package; not in the
/// tarball, which installs anywhere.
const RECORDER_UNIT: &str = "assets/port-inspector-record.service";

/// What every package is made from.
pub struct Ctx {
    pub root: PathBuf,
    pub version: String,
    /// Every file's time (SOURCE_DATE_EPOCH or the last commit).
    pub epoch: u64,
    pub generated: Generated,
}

/// Where the shared files go in one package format.
struct Tree<'a> {
    /// The folder that stands for `/usr` (or the tarball's top folder).
    prefix: PathBuf,
    /// The zsh folder under `share/`: Debian's vendor-completions, Fedora's site-functions.
    zsh: &'a str,
    /// Where the package's licence and README go, relative to the prefix.
    doc: String,
}

/// Writes the binary, man pages, completions and, for the window, desktop entry and icons.
fn stage_common(ctx: &Ctx, flavour: Flavour, bin: &Path, t: &Tree) -> Result {
    let g = &ctx.generated;
    copy(bin, &t.prefix.join("bin/port-inspector"), 0o755)?;
    for (name, gz) in &g.man {
        write(&t.prefix.join("share/man/man1").join(name), gz, 0o644)?;
    }
    write(
        &t.prefix
            .join("share/bash-completion/completions/port-inspector"),
        &g.bash,
        0o644,
    )?;
    write(
        &t.prefix.join("share").join(t.zsh).join("_port-inspector"),
        &g.zsh,
        0o644,
    )?;
    write(
        &t.prefix
            .join("share/fish/vendor_completions.d/port-inspector.fish"),
        &g.fish,
        0o644,
    )?;
    if flavour == Flavour::Gui {
        copy(
            &ctx.root.join("assets/port-inspector.desktop"),
            &t.prefix.join("share/applications/port-inspector.desktop"),
            0o644,
        )?;
        for n in ICON_SIZES {
            copy(
                &ctx.root.join(format!("assets/icon-{n}.png")),
                &t.prefix.join(format!(
                    "share/icons/hicolor/{n}x{n}/apps/port-inspector.png"
                )),
                0o644,
            )?;
        }
    }
    Ok(())
}

/// The Debian package: `dpkg-deb --root-owner-group` over a staged tree with DEBIAN/control and
/// md5sums; the libc/libgcc dependencies from `dpkg-shlibdeps`, the window's from [`GUI_DEBS`].
pub fn deb(ctx: &Ctx, flavour: Flavour, bin: &Path, work: &Path, out: &Path) -> Result<PathBuf> {
    let pkg = flavour.package();
    let dir = work.join(format!("deb-{pkg}"));
    let tree = Tree {
        prefix: dir.join("usr"),
        zsh: "zsh/vendor-completions",
        doc: format!("share/doc/{pkg}"),
    };
    stage_common(ctx, flavour, bin, &tree)?;
    // Debian 12 keeps units in /lib/systemd/system (lintian: systemd-service-file-outside-lib).
    copy(
        &ctx.root.join(RECORDER_UNIT),
        &dir.join("lib/systemd/system/port-inspector-record.service"),
        0o644,
    )?;
    let doc = tree.prefix.join(&tree.doc);
    write(
        &doc.join("copyright"),
        debian_copyright(ctx)?.as_bytes(),
        0o644,
    )?;
    let changelog = format!(
        "{pkg} ({v}) unstable; urgency=medium\n\n  * Release {v}.\n\n -- {MAINTAINER}  {date}\n",
        v = ctx.version,
        date = rfc2822(ctx.epoch)?
    );
    let gz = crate::output(Command::new("sh").args([
        "-c",
        "printf '%s' \"$1\" | gzip -9n",
        "sh",
        &changelog,
    ]))?;
    write(&doc.join("changelog.gz"), &gz, 0o644)?;

    let mut depends = shlib_depends(bin, work)?;
    if flavour == Flavour::Gui {
        depends = format!("{depends}, {GUI_DEBS}");
    }
    let files = files_under(&dir)?;
    let installed_kib: u64 = files
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len().div_ceil(1024)))
        .sum();
    let mut control = format!(
        "Package: {pkg}\nVersion: {v}\nArchitecture: amd64\nMaintainer: {MAINTAINER}\nInstalled-Size: {installed_kib}\nDepends: {depends}\n",
        v = ctx.version
    );
    if flavour == Flavour::Gui {
        let _ = writeln!(control, "Recommends: {GUI_DEB_RECOMMENDS}");
    }
    let other = flavour.other().package();
    let _ = writeln!(control, "Conflicts: {other}\nReplaces: {other}");
    let _ = writeln!(control, "Section: net\nPriority: optional");
    let _ = writeln!(control, "Description: {SYNOPSIS}{}", deb_long(flavour));
    write(&dir.join("DEBIAN/control"), control.as_bytes(), 0o644)?;
    let mut md5 = output(Command::new("md5sum").current_dir(&dir).args(&files))?;
    if md5.is_empty() {
        md5.push(b'\n');
    }
    write(&dir.join("DEBIAN/md5sums"), &md5, 0o644)?;
    set_times(&dir, ctx.epoch)?;
    let file = out.join(format!("{pkg}_{}_amd64.deb", ctx.version));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&dir)
        .arg(&file)
        .env("SOURCE_DATE_EPOCH", ctx.epoch.to_string()))?;
    Ok(file)
}

/// The extended description in control-file form (continuation lines start with a space).
fn deb_long(flavour: Flavour) -> String {
    let mut s = String::new();
    for (i, para) in DESCRIPTION.iter().enumerate() {
        if i > 0 {
            s.push_str("\n .");
        }
        for line in wrap(para, 72) {
            let _ = write!(s, "\n {line}");
        }
    }
    let last = match flavour {
        Flavour::Gui => "This package has the desktop window and the command line.",
        Flavour::Cli => {
            "This package has the command line alone, with no graphical libraries, for servers."
        }
    };
    s.push_str("\n .");
    for line in wrap(last, 72) {
        let _ = write!(s, "\n {line}");
    }
    s
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let cur = lines.last_mut().expect("lines starts with one");
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

/// The machine-readable copyright file Debian wants in every package.
fn debian_copyright(ctx: &Ctx) -> Result<String> {
    let mit = read_to_string(&ctx.root.join("LICENSE-MIT"))?;
    let mut s = String::from(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: port-inspector\n\nFiles: *\nCopyright: 2026 The Port Inspector contributors\nLicense: MIT or Apache-2.0\n\nLicense: MIT\n",
    );
    // The licence text after its title and copyright line, blank lines as " .".
    for line in mit.lines().skip_while(|l| !l.starts_with("Permission")) {
        if line.trim().is_empty() {
            s.push_str(" .\n");
        } else {
            let _ = writeln!(s, " {line}");
        }
    }
    s.push_str("\nLicense: Apache-2.0\n On Debian systems, the full text of the Apache License, Version 2.0 can be\n found in the file /usr/share/common-licenses/Apache-2.0.\n");
    Ok(s)
}

/// `dpkg-shlibdeps`' Depends for the binary's ELF libraries (libc6 with the version its
/// symbols need, libgcc-s1). It wants a debian/control beside it; a stand-in one is made.
fn shlib_depends(bin: &Path, work: &Path) -> Result<String> {
    let dir = work.join("shlibdeps");
    write(
        &dir.join("debian/control"),
        b"Source: port-inspector\n\nPackage: port-inspector\nArchitecture: any\n",
        0o644,
    )?;
    // Where it wants the binary: in the package's folder under debian/.
    let staged = dir.join("debian/port-inspector/usr/bin/port-inspector");
    copy(bin, &staged, 0o755)?;
    let out = output(
        Command::new("dpkg-shlibdeps")
            .current_dir(&dir)
            .arg("-O")
            .arg("-edebian/port-inspector/usr/bin/port-inspector"),
    )?;
    let text = String::from_utf8_lossy(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(str::to_owned)
        .ok_or_else(|| format!("dpkg-shlibdeps gave no Depends: {text}"))
}

/// The same files as an RPM (`rpmbuild -bb` over the staged tree). Requires: rpm's own ELF
/// scan adds libc's; the window's libraries are named by soname, which Fedora, RHEL and
/// openSUSE all provide whatever their package names.
pub fn rpm(ctx: &Ctx, flavour: Flavour, bin: &Path, work: &Path, out: &Path) -> Result<PathBuf> {
    let pkg = flavour.package();
    let dir = work.join(format!("rpm-{pkg}"));
    let stage = dir.join("root");
    let tree = Tree {
        prefix: stage.join("usr"),
        zsh: "zsh/site-functions",
        doc: format!("share/doc/{pkg}"),
    };
    stage_common(ctx, flavour, bin, &tree)?;
    copy(
        &ctx.root.join(RECORDER_UNIT),
        &stage.join("usr/lib/systemd/system/port-inspector-record.service"),
        0o644,
    )?;
    for f in ["LICENSE-MIT", "LICENSE-APACHE"] {
        copy(
            &ctx.root.join(f),
            &stage.join(format!("usr/share/licenses/{pkg}/{f}")),
            0o644,
        )?;
    }
    copy(
        &ctx.root.join("README.md"),
        &stage.join(format!("usr/share/doc/{pkg}/README.md")),
        0o644,
    )?;
    set_times(&stage, ctx.epoch)?;
    let version = ctx.version.replace('-', "~");
    let mut spec = format!(
        "%define _build_name_fmt %%{{NAME}}-%%{{VERSION}}-%%{{RELEASE}}.%%{{ARCH}}.rpm
%define debug_package %{{nil}}
%define __os_install_post %{{nil}}
%define _build_id_links none
%define _binary_payload w6.xzdio
%define use_source_date_epoch_as_buildtime 1
%define clamp_mtime_to_source_epoch 1
Name: {pkg}
Version: {version}
Release: 1
Summary: {SYNOPSIS}
License: MIT OR Apache-2.0
Packager: {MAINTAINER}
Conflicts: {other}
",
        other = flavour.other().package()
    );
    if flavour == Flavour::Gui {
        for r in GUI_RPM_REQUIRES {
            let _ = writeln!(spec, "Requires: {r}");
        }
        spec.push_str("Recommends: mesa-dri-drivers\n");
    }
    let _ = write!(spec, "\n%description\n{}\n", DESCRIPTION.join("\n\n"));
    let _ = write!(
        spec,
        "\n%install\nmkdir -p %{{buildroot}}\ncp -a '{}'/. %{{buildroot}}/\n\n%files\n",
        stage.display()
    );
    for f in files_under(&stage)? {
        let attr = if f.starts_with("usr/share/licenses/") {
            "%license "
        } else {
            ""
        };
        let _ = writeln!(spec, "{attr}/{f}");
    }
    let spec_path = dir.join(format!("{pkg}.spec"));
    write(&spec_path, spec.as_bytes(), 0o644)?;
    run(Command::new("rpmbuild")
        .args(["-bb", "--quiet", "--target", "x86_64-linux"])
        .arg("--define")
        .arg(format!("_topdir {}", dir.join("top").display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", out.display()))
        .arg(&spec_path)
        .env("SOURCE_DATE_EPOCH", ctx.epoch.to_string()))?;
    let file = out.join(format!("{pkg}-{version}-1.x86_64.rpm"));
    if file.is_file() {
        Ok(file)
    } else {
        Err(format!("rpmbuild did not write {}", file.display()))
    }
}

/// Any Linux: `port-inspector-V-x86_64-linux/{bin,share}`, so that
/// `tar -xzf … -C /usr/local --strip-components=1` installs it, or it runs from where it is.
pub fn tarball(ctx: &Ctx, bin: &Path, work: &Path, out: &Path) -> Result<PathBuf> {
    let name = format!("port-inspector-{}-x86_64-linux", ctx.version);
    let top = work.join("tar");
    let tree = Tree {
        prefix: top.join(&name),
        zsh: "zsh/site-functions",
        doc: "share/doc/port-inspector".into(),
    };
    stage_common(ctx, Flavour::Gui, bin, &tree)?;
    for f in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        copy(
            &ctx.root.join(f),
            &tree.prefix.join(&tree.doc).join(f),
            0o644,
        )?;
    }
    set_times(&top, ctx.epoch)?;
    let file = out.join(format!("{name}.tar.gz"));
    run(Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{}", ctx.epoch))
        .args(["-I", "gzip -9n", "-C"])
        .arg(&top)
        .arg("-cf")
        .arg(&file)
        .arg(&name))?;
    Ok(file)
}

/// The portable Windows zip: the exe, the README, the licences and PowerShell completions.
pub fn windows_zip(
    ctx: &Ctx,
    _linux_bin: &Path,
    exe: &Path,
    work: &Path,
    out: &Path,
) -> Result<PathBuf> {
    let name = format!("port-inspector-{}-windows-x86_64", ctx.version);
    let top = work.join("zip");
    let dir = top.join(&name);
    copy(exe, &dir.join("port-inspector.exe"), 0o755)?;
    for f in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        copy(&ctx.root.join(f), &dir.join(f), 0o644)?;
    }
    write(
        &dir.join("completions/port-inspector.ps1"),
        &ctx.generated.powershell,
        0o644,
    )?;
    set_times(&top, ctx.epoch)?;
    let file = out.join(format!("{name}.zip"));
    let mut files = files_under(&top)?;
    files.sort();
    run(Command::new("zip")
        .current_dir(&top)
        .args(["-X", "-q", "-9"])
        .arg(&file)
        .args(&files))?;
    Ok(file)
}

/// Every file under `dir`, as sorted paths relative to it.
pub fn files_under(dir: &Path) -> Result<Vec<String>> {
    fn walk(base: &Path, d: &Path, acc: &mut Vec<String>) -> Result {
        for e in std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))? {
            let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, acc)?;
            } else if let Ok(rel) = p.strip_prefix(base) {
                acc.push(rel.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut acc = Vec::new();
    walk(dir, dir, &mut acc)?;
    acc.retain(|f| !f.starts_with("DEBIAN/"));
    acc.sort();
    Ok(acc)
}

/// Sets every file's and folder's time to `epoch` (archives then differ only when content does).
fn set_times(dir: &Path, epoch: u64) -> Result {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        let p = all[i].clone();
        if p.is_dir() {
            for e in std::fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))? {
                all.push(e.map_err(|e| format!("{}: {e}", p.display()))?.path());
            }
        }
        i += 1;
    }
    for p in all.iter().rev() {
        let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        f.set_modified(t)
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// A Debian changelog date (`date -R`) for the epoch.
fn rfc2822(epoch: u64) -> Result<String> {
    let out = output(
        Command::new("date")
            .args(["-u", "-R", "-d"])
            .arg(format!("@{epoch}")),
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_description_is_a_valid_control_field() {
        for f in [Flavour::Gui, Flavour::Cli] {
            let d = deb_long(f);
            for line in d.lines().skip(1) {
                assert!(line.starts_with(' '), "continuation line {line:?}");
                assert!(line.len() <= 80, "line fits 80 columns: {line:?}");
                assert!(line.trim() != "", "an empty paragraph line is ' .'");
            }
        }
        assert!(
            SYNOPSIS.len() < 80 && !SYNOPSIS.ends_with('.'),
            "Debian's synopsis rules"
        );
    }

    #[test]
    fn the_two_packages_replace_each_other() {
        assert_eq!(Flavour::Gui.other().package(), "port-inspector-cli", "gui");
        assert_eq!(Flavour::Cli.other().package(), "port-inspector", "cli");
    }
}
