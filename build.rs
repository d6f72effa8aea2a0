//! Build facts for `--version` and every report (the commit and the build date), and, for a
//! Windows target, the icon and version resource the exe carries.
//!
//! A build from a source tarball (crates.io, a distribution) has no `.git`: the commit then comes
//! from the `.cargo_vcs_info.json` that `cargo package` writes, or reads "unknown commit". Nothing
//! here may fail a build: a missing `git` or `windres` costs a fact, never the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = git_commit(&dir).or_else(|| vcs_info_commit(&dir));
    let date = build_date();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = match &commit {
        Some(c) => format!("{version} (commit {c}, built {date})"),
        None => format!("{version} (unknown commit, built {date})"),
    };
    let commit = commit.unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=PORT_INSPECTOR_COMMIT={commit}");
    println!("cargo:rustc-env=PORT_INSPECTOR_BUILD_DATE={date}");
    println!("cargo:rustc-env=PORT_INSPECTOR_LONG_VERSION={long}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        windows_resource(&dir, &commit);
    }
}

/// The short commit of HEAD, when this folder is the top of a git work tree (a tarball unpacked
/// inside some other repository must not take that repository's commit). Tells cargo to run this
/// again when HEAD moves, and only then (a new build date on every build would rebuild the crate
/// every time).
fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let mut watch = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(head_ref);
    }
    for name in watch {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]) {
            // A missing file would make cargo run this on every build.
            if Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    let sha = git(&["rev-parse", "--short=12", "HEAD"])?;
    sha.bytes().all(|b| b.is_ascii_hexdigit()).then_some(sha)
}

/// The commit `cargo package` recorded in `.cargo_vcs_info.json` (`"sha1": "…"`), for a build
/// from the published crate.
fn vcs_info_commit(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let rest = &text[text.find("\"sha1\"")? + 6..];
    let start = rest.find('"')? + 1;
    let sha: String = rest[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    (sha.len() == 12).then_some(sha)
}

/// Today's date (UTC, YYYY-MM-DD), or the date of `SOURCE_DATE_EPOCH` for a reproducible build.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let (y, m, d) = civil_from_days(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The exe's icon (what Explorer, the taskbar and the Start menu show) and its version resource
/// (what the file's Properties and installers read), compiled with mingw's `windres` into an
/// object linked into the binary. Without `windres` (a non-mingw toolchain) the exe is built
/// without them and cargo prints a warning.
fn windows_resource(dir: &Path, commit: &str) {
    let icon = dir.join("assets/port-inspector.ico");
    println!("cargo:rerun-if-changed={}", icon.display());
    println!("cargo:rerun-if-env-changed=WINDRES");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let windres =
        std::env::var("WINDRES").unwrap_or_else(|_| format!("{arch}-w64-mingw32-windres"));
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu") {
        println!("cargo:warning=no icon or version resource: only mingw's windres is wired up");
        return;
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let mut nums: Vec<u16> = version
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    nums.resize(4, 0);
    let quad = format!("{},{},{},{}", nums[0], nums[1], nums[2], nums[3]);
    // Numbers instead of <winver.h> names (VOS_NT_WINDOWS32, VFT_APP), so no header is needed.
    let rc = format!(
        r#"1 ICON "{icon}"
1 VERSIONINFO
FILEVERSION {quad}
PRODUCTVERSION {quad}
FILEFLAGSMASK 0x3f
FILEFLAGS 0x0
FILEOS 0x40004
FILETYPE 0x1
FILESUBTYPE 0x0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "Port Inspector contributors"
      VALUE "FileDescription", "Port Inspector"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "port-inspector"
      VALUE "LegalCopyright", "MIT OR Apache-2.0"
      VALUE "OriginalFilename", "port-inspector.exe"
      VALUE "ProductName", "Port Inspector"
      VALUE "ProductVersion", "{version} ({commit})"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#,
        icon = icon.display().to_string().replace('\\', "/"),
    );
    let rc_path = out.join("port-inspector.rc");
    let obj = out.join("port-inspector-res.o");
    if let Err(e) = std::fs::write(&rc_path, rc) {
        println!(
            "cargo:warning=no icon or version resource: cannot write {}: {e}",
            rc_path.display()
        );
        return;
    }
    match Command::new(&windres)
        .args(["-O", "coff", "-i"])
        .arg(&rc_path)
        .arg("-o")
        .arg(&obj)
        .status()
    {
        // An object named on the link line is always linked (unlike a library member), so the
        // .rsrc section is there even though no code refers to it.
        Ok(s) if s.success() => println!("cargo:rustc-link-arg-bins={}", obj.display()),
        Ok(s) => println!("cargo:warning=no icon or version resource: {windres} failed ({s})"),
        Err(e) => println!("cargo:warning=no icon or version resource: cannot run {windres}: {e}"),
    }
}
