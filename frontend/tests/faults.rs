//! The frontend process when the daemon goes away: it must exit promptly
//! with a clear message, never hang.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn frontend() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    cmd.arg("frontend")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for the child, killing it (and failing) after `limit`.
fn exit_within(mut child: std::process::Child, limit: Duration) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status.code().unwrap_or(-1), stderr);
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("the frontend did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exits_promptly_when_the_daemon_hangs_up_at_once() {
    let mut child = frontend().spawn().unwrap();
    drop(child.stdin.take()); // the daemon closes the connection
    let (code, stderr) = exit_within(child, Duration::from_secs(10));
    assert_ne!(code, 0);
    assert!(stderr.contains("stagecraft frontend:"), "stderr: {stderr}");
}

#[test]
fn exits_promptly_when_the_daemon_speaks_garbage() {
    let mut child = frontend().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"this is not HTTP/2\r\n\r\n").unwrap();
    drop(stdin);
    let (code, stderr) = exit_within(child, Duration::from_secs(10));
    assert_ne!(code, 0);
    assert!(stderr.contains("stagecraft frontend:"), "stderr: {stderr}");
}
