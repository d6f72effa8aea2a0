//! Reading one process's /proc files: its directory opened once, each small file read relative
//! to it, by path when short of descriptors.

use std::fs;
use std::sync::Arc;

/// `n` in decimal as a C string, written into `buf` (a descriptor's name in `/proc/PID/fd`).
pub(super) fn decimal_name(n: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    let mut at = buf.len() - 1; // the last byte stays the terminating NUL
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::ffi::CStr::from_bytes_with_nul(&buf[at..]).unwrap_or_default()
}

/// Opens the directory `/proc/PID` followed by `tail` (`""` or `"/fd"`): the one place either
/// path is built, without `format!`'s machinery for every process of a whole-table walk.
pub(super) fn open_proc_dir(pid: u32, tail: &str) -> rustix::io::Result<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let mut name = [0u8; 12];
    let path = [
        b"/proc/".as_slice(),
        decimal_name(pid, &mut name).to_bytes(),
        tail.as_bytes(),
    ]
    .concat();
    rustix::fs::open(
        path.as_slice(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// One process's /proc directory, open: its small files are read relative to it (the process
/// looked up once, not once per file) into one buffer, without the size query per file that
/// `fs::read` makes. For a table of hundreds of processes, five files each. Short of
/// descriptors (the open directory is one more), it reads by path as before: a name must never
/// read "unreadable" because this tool ran out of descriptors.
pub(super) struct ProcDir {
    pid: u32,
    dir: Option<rustix::fd::OwnedFd>,
    buf: Vec<u8>,
}

impl ProcDir {
    pub(super) fn open(pid: u32) -> Self {
        let dir = open_proc_dir(pid, "").ok();
        Self {
            pid,
            dir,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Opens its file `name`: relative to the open directory, or by path when there is none
    /// or the directory's descriptor is the one too many (it is closed then).
    fn file(&mut self, name: &str) -> Option<rustix::fd::OwnedFd> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        if let Some(dir) = &self.dir {
            match rustix::fs::openat(dir, name, flags, Mode::empty()) {
                Err(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE) => self.dir = None,
                other => return other.ok(),
            }
        }
        rustix::fs::open(format!("/proc/{}/{name}", self.pid), flags, Mode::empty()).ok()
    }

    /// The whole of its file `name` (`stat`, `comm` …); `None` when it cannot be read.
    pub(super) fn read(&mut self, name: &str) -> Option<&[u8]> {
        /// Reads with no size hint: a /proc file's size is 0 whatever it holds.
        struct Plain(rustix::fd::OwnedFd);
        impl std::io::Read for Plain {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                Ok(rustix::io::read(&self.0, buf)?)
            }
        }
        let fd = self.file(name)?;
        self.buf.clear();
        std::io::Read::read_to_end(&mut Plain(fd), &mut self.buf).ok()?;
        Some(&self.buf)
    }

    /// The target of its link `name` (`exe`).
    pub(super) fn link(&mut self, name: &str) -> Option<Arc<str>> {
        if let Some(dir) = &self.dir
            && let Ok(target) = rustix::fs::readlinkat(dir, name, Vec::new())
        {
            return Some(Arc::from(String::from_utf8_lossy(target.as_bytes())));
        }
        fs::read_link(format!("/proc/{}/{name}", self.pid))
            .ok()
            .map(|p| Arc::from(p.to_string_lossy()))
    }
}

/// The parent PID in the text of /proc/PID/stat (after the name, which may hold anything).
pub(super) fn parent_in_stat(stat: &[u8]) -> Option<u32> {
    let after = &stat[stat.iter().rposition(|&c| c == b')')? + 1..];
    std::str::from_utf8(after)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_names_are_their_decimal_numbers() {
        let mut buf = [0u8; 12];
        for n in [0, 7, 10, 255, 65_536, u32::MAX] {
            assert_eq!(decimal_name(n, &mut buf).to_str().unwrap(), n.to_string());
        }
    }
}
