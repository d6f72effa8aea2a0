//! Windows-only socket options that socket2 does not wrap (`SO_EXCLUSIVEADDRUSE`).
#![allow(unsafe_code)] // One setsockopt call with a fixed-size integer option; see the SAFETY note.

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
