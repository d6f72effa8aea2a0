//! The Windows calls no safe crate wraps: `SO_EXCLUSIVEADDRUSE`, the system folder
//! (`GetSystemDirectoryW`) and starting a program elevated (`ShellExecuteW` with `runas`).
#![allow(unsafe_code)] // Three Win32 calls with fixed-size buffers and owned strings; see each SAFETY note.

use std::os::windows::io::AsRawSocket;

use socket2::Socket;
use windows_sys::Win32::Networking::WinSock::{SO_EXCLUSIVEADDRUSE, SOL_SOCKET, setsockopt};

/// Forbids any other socket from binding this address, the Windows defence against port theft.
pub fn set_exclusive_address_use(sock: &Socket) -> std::io::Result<()> {
    let on: i32 = 1;
    // SAFETY: the socket handle is valid for the lifetime of `sock`; the option value points to a
    // live i32 and its length is exactly size_of::<i32>().
    let rc = unsafe {
        setsockopt(
            usize::try_from(sock.as_raw_socket())
                .map_err(|_| std::io::Error::other("socket handle out of range"))?,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&raw const on).cast::<u8>(),
            4,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The system folder (`C:\\Windows\\System32`), from the OS itself rather than the environment,
/// where helper programs are run from.
pub fn system_directory() -> Option<std::path::PathBuf> {
    use std::os::windows::ffi::OsStringExt as _;
    use windows_sys::Win32::System::SystemInformation::GetSystemDirectoryW;
    let mut buf = [0u16; 520];
    let len = u32::try_from(buf.len()).ok()?;
    // SAFETY: `buf` is a live, writable array of `len` u16 values; the call writes at most that
    // many and returns how many it wrote (or the size it needs, when larger).
    let n = unsafe { GetSystemDirectoryW(buf.as_mut_ptr(), len) };
    let n = usize::try_from(n).ok()?;
    (n > 0 && n < buf.len())
        .then(|| std::path::PathBuf::from(std::ffi::OsString::from_wide(&buf[..n])))
}

/// Starts `exe` elevated through the UAC prompt (`ShellExecuteW` with the `runas` verb): the
/// path is passed as its own wide string, never through a command line or a shell.
pub fn run_elevated(exe: &std::path::Path) -> std::io::Result<()> {
    use std::os::windows::ffi::OsStrExt as _;
    use windows_sys::Win32::UI::Shell::ShellExecuteW;
    let wide = |s: &std::ffi::OsStr| s.encode_wide().chain(Some(0)).collect::<Vec<u16>>();
    let verb = wide(std::ffi::OsStr::new("runas"));
    let file = wide(exe.as_os_str());
    // SAFETY: every string is a live, NUL-terminated UTF-16 buffer owned by this frame; null
    // window, parameters and directory are allowed; 1 is SW_SHOWNORMAL.
    let rc = unsafe {
        ShellExecuteW(
            std::ptr::null_mut(),
            verb.as_ptr(),
            file.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            1,
        )
    };
    // Values above 32 mean success (the documented contract of ShellExecuteW).
    if rc as usize > 32 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
