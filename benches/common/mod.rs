//! What the benchmarks share: a crowd of listening processes, killed when dropped, and a whole
//! run of a command with its output drained as a pipe reader would.

use std::process::{Child, Command, Stdio};

/// A child killed and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `processes` python3 children, each holding `per_process` TCP listeners on 127.0.0.1, returned
/// once every one of them is listening.
pub fn crowd(processes: usize, per_process: usize) -> Vec<Killed> {
    let code = format!(
        "import socket,time\nl=[]\nfor i in range({per_process}):\n s=socket.socket();s.bind(('127.0.0.1',0));s.listen(1);l.append(s)\nprint('ready',flush=True)\ntime.sleep(3600)"
    );
    (0..processes)
        .map(|_| {
            let mut c = Command::new("python3")
                .args(["-c", &code])
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs");
            let mut line = String::new();
            let out = c.stdout.take().expect("piped");
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line)
                .expect("the child says it is ready");
            Killed(c)
        })
        .collect()
}

/// One whole run of `cmd`, its output read through a pipe in 64 KiB blocks and dropped (as
/// `hyperfine --output=pipe` reads it). Collecting it instead (`Command::output`) would charge
/// the harness's own buffer growth to the tool that prints more: `list --json` prints 6 MB
/// beside the crowd, a scan of the crowded range 12 MB, `ss` 1 MB.
#[allow(dead_code)] // Each bench compiles its own copy of this module; some drain no command.
pub fn drained(cmd: &str, args: &[&str]) {
    use std::io::Read;
    let mut child = Command::new(cmd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the command starts");
    let mut out = child.stdout.take().expect("piped");
    let (mut block, mut total) = (vec![0u8; 64 * 1024], 0);
    loop {
        match out.read(&mut block).expect("its output reads") {
            0 => break,
            n => total += n,
        }
    }
    let ok = child.wait().is_ok_and(|s| s.success());
    assert!(ok && total > 0, "{cmd} ran and printed");
}
