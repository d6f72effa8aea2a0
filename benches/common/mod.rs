//! What the benchmarks share: a crowd of listening processes, killed when dropped.

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
