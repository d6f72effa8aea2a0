//! The Windows installer: a WiX source written here, compiled by `wixl` (Debian package `wixl`).
//!
//! What an admin deploying with Intune or Group Policy relies on: a per-machine install into
//! Program Files, silent switches (`msiexec /i FILE /qn`), `INSTALLDIR` as a public property, an
//! entry in Apps & features with the icon and no Modify button, and one UpgradeCode for every
//! version, so a newer MSI replaces an older one in place (MajorUpgrade) and an older one is
//! refused over a newer.

use std::path::Path;
use std::process::Command;

use crate::{Result, copy, run, write};

/// The same for every version, forever: it is how Windows Installer knows a newer MSI is an
/// upgrade of this product and not a second product. Never change it.
pub const UPGRADE_CODE: &str = "63F23843-FD28-4308-A56B-7D60BBF7652A";
/// Component GUIDs, fixed for the same reason (a component's GUID must follow its files).
const EXE_COMPONENT: &str = "70BB4ED5-95F0-42F9-869D-731429C8C13A";
const DOCS_COMPONENT: &str = "6787FE4C-7219-43F0-A214-F1E2DFD9AF35";
const SHORTCUT_COMPONENT: &str = "4FBEA68E-8F52-4E60-B50A-666C1E3C31CF";

/// Builds `out` from `exe` with `version` (X.Y.Z; a pre-release suffix is dropped, since MSI
/// versions are numbers).
pub fn build(root: &Path, exe: &Path, version: &str, work: &Path, out: &Path) -> Result {
    let msi_version = msi_version(version)?;
    for (from, to) in [
        (exe.to_path_buf(), "port-inspector.exe"),
        (root.join("assets/port-inspector.ico"), "port-inspector.ico"),
        (root.join("README.md"), "README.md"),
        (root.join("LICENSE-MIT"), "LICENSE-MIT.txt"),
        (root.join("LICENSE-APACHE"), "LICENSE-APACHE.txt"),
    ] {
        copy(&from, &work.join(to), 0o644)?;
    }
    let wxs = wxs(&msi_version);
    let wxs_path = work.join("port-inspector.wxs");
    write(&wxs_path, wxs.as_bytes(), 0o644)?;
    run(Command::new("wixl")
        .current_dir(work)
        .args(["--arch", "x64", "-o"])
        .arg(out)
        .arg(&wxs_path))
}

/// `0.1.0` → `0.1.0`; `1.2.3-rc.1` → `1.2.3`. MSI compares the first three fields only, the
/// first two at most 255 and the third at most 65535.
fn msi_version(version: &str) -> Result<String> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .zip([255u32, 255, 65_535])
            .all(|(p, max)| p.parse::<u32>().is_ok_and(|n| n <= max));
    if ok {
        Ok(core.to_owned())
    } else {
        Err(format!(
            "{version} is not an MSI version (X.Y.Z, X and Y up to 255, Z up to 65535)"
        ))
    }
}

/// The WiX source. Files are named relative to the folder wixl runs in.
fn wxs(version: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Port Inspector" Language="1033" Version="{version}"
           Manufacturer="Port Inspector contributors" UpgradeCode="{UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"
             Description="Port Inspector {version}"
             Comments="Can my program bind this address and port? If not, why, and who is in the way?"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of Port Inspector is already installed."/>
    <Media Id="1" Cabinet="port_inspector.cab" EmbedCab="yes"/>
    <Icon Id="PortInspectorIcon" SourceFile="port-inspector.ico"/>
    <Property Id="ARPPRODUCTICON" Value="PortInspectorIcon"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <Property Id="ARPNOREPAIR" Value="1"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Port Inspector">
          <Component Id="MainExecutable" Guid="{EXE_COMPONENT}" Win64="yes">
            <File Id="PortInspectorExe" Name="port-inspector.exe" Source="port-inspector.exe" KeyPath="yes"/>
          </Component>
          <Component Id="Documents" Guid="{DOCS_COMPONENT}" Win64="yes">
            <File Id="Readme" Name="README.md" Source="README.md" KeyPath="yes"/>
            <File Id="LicenseMit" Name="LICENSE-MIT.txt" Source="LICENSE-MIT.txt"/>
            <File Id="LicenseApache" Name="LICENSE-APACHE.txt" Source="LICENSE-APACHE.txt"/>
          </Component>
        </Directory>
      </Directory>
      <Directory Id="ProgramMenuFolder">
        <Component Id="StartMenuShortcut" Guid="{SHORTCUT_COMPONENT}" Win64="yes">
          <Shortcut Id="PortInspectorShortcut" Name="Port Inspector"
                    Description="Can my program bind this address and port?"
                    Target="[INSTALLDIR]port-inspector.exe" WorkingDirectory="INSTALLDIR"
                    Icon="PortInspectorIcon"/>
          <RegistryValue Root="HKLM" Key="Software\Port Inspector" Name="StartMenuShortcut"
                         Type="integer" Value="1" KeyPath="yes"/>
        </Component>
      </Directory>
    </Directory>
    <Feature Id="Complete" Title="Port Inspector" Level="1">
      <ComponentRef Id="MainExecutable"/>
      <ComponentRef Id="Documents"/>
      <ComponentRef Id="StartMenuShortcut"/>
    </Feature>
  </Product>
</Wix>
"#
    )
}

/// Whether `exe` is a Windows executable whose version resource names this `version`
/// (`ProductVersion` `X.Y.Z (commit …)`, written by build.rs): a stale exe from an older build,
/// or one built without its resource, is not packaged under this version.
pub fn exe_version_ok(exe: &Path, version: &str) -> Result {
    let bytes = std::fs::read(exe).map_err(|e| format!("cannot read it: {e}"))?;
    if !bytes.starts_with(b"MZ") {
        return Err("not a Windows executable".into());
    }
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let key = utf16("ProductVersion\0");
    let want = utf16(&format!("{version} ("));
    let found = bytes
        .windows(key.len())
        .enumerate()
        .filter(|(_, w)| *w == key.as_slice())
        .any(|(i, _)| {
            let after = &bytes[i + key.len()..];
            // The value follows the key after padding to a 4-byte boundary.
            (0..=4).any(|pad| after.get(pad..pad + want.len()) == Some(want.as_slice()))
        });
    if found {
        Ok(())
    } else {
        Err(format!(
            "its version resource does not say ProductVersion {version} (an older build, or one without build.rs' resource)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msi_versions_are_three_numbers_in_range() {
        assert_eq!(msi_version("0.1.0").as_deref(), Ok("0.1.0"), "plain");
        assert_eq!(
            msi_version("1.2.3-rc.1").as_deref(),
            Ok("1.2.3"),
            "pre-release"
        );
        assert!(msi_version("256.0.0").is_err(), "major over 255");
        assert!(msi_version("1.2").is_err(), "two fields");
    }

    #[test]
    fn the_installer_source_keeps_its_upgrade_code_and_switches() {
        let w = wxs("1.2.3");
        assert!(
            w.contains(&format!("UpgradeCode=\"{UPGRADE_CODE}\"")),
            "fixed upgrade code"
        );
        assert!(w.contains("<MajorUpgrade"), "newer replaces older");
        assert!(
            w.contains("InstallScope=\"perMachine\""),
            "Program Files, all users"
        );
        assert!(w.contains("Version=\"1.2.3\""), "version");
        assert!(
            w.contains("Id=\"INSTALLDIR\""),
            "INSTALLDIR is the public property admins set"
        );
    }

    #[test]
    fn a_version_resource_is_found_and_a_stale_one_refused() {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let mut exe = b"MZ....".to_vec();
        exe.extend(utf16("ProductVersion\0"));
        exe.extend([0, 0]);
        exe.extend(utf16("0.1.0 (commit 0123456789ab)\0"));
        let dir = std::env::temp_dir().join(format!("xtask-exe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("a.exe");
        std::fs::write(&p, &exe).expect("write");
        assert!(exe_version_ok(&p, "0.1.0").is_ok(), "this version");
        assert!(exe_version_ok(&p, "0.2.0").is_err(), "another version");
        std::fs::write(&p, b"\x7fELF").expect("write");
        assert!(exe_version_ok(&p, "0.1.0").is_err(), "not an exe");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
