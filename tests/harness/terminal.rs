//! db-migrate on a pseudo-terminal (util-linux `script`): prompts, progress bars, Ctrl-C.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::util::output_text;
use super::workspace::{bin_path, Workspace};

/// `script -qec 'db-migrate ARGS' /dev/null` in the workspace root, with piped stdin and stdout
/// (stderr too, merged by the terminal anyway).
pub fn terminal_command(ws: &Workspace, args: &[&str]) -> Command {
    let command = std::iter::once(bin_path().to_string_lossy().into_owned())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .current_dir(ws.root())
        .env_remove("DB_MIGRATE_PYTHON")
        .env_remove("GITHUB_BASE_REF")
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.spawn()
        .expect("script(1) from util-linux runs (apt-get install bsdutils)")
}

/// Run db-migrate on a terminal, typing `input` at once; the exit code and everything the
/// terminal showed.
pub fn on_terminal(ws: &Workspace, args: &[&str], input: &str) -> (Option<i32>, String) {
    on_terminal_with(terminal_command(ws, args), input)
}

/// [`on_terminal`] with a command prepared by [`terminal_command`] (extra environment…).
pub fn on_terminal_with(cmd: Command, input: &str) -> (Option<i32>, String) {
    let mut child = spawn(cmd);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), output_text(&out))
}

/// A terminal session whose input is typed while it runs, watching the screen.
pub struct Terminal {
    child: Child,
    screen: Arc<Mutex<String>>,
}

impl Terminal {
    pub fn start(ws: &Workspace, args: &[&str]) -> Terminal {
        let mut cmd = terminal_command(ws, args);
        cmd.env("TERM", "dumb").stderr(Stdio::null());
        let mut child = spawn(cmd);
        let screen = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal { child, screen }
    }

    /// Wait until the screen shows `text` `times` times.
    pub fn wait_for(&self, text: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.screen.lock().unwrap().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "never saw {text:?} x{times}: {}",
                self.screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn answer(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Close the input, wait for the end; the exit code and the whole screen.
    pub fn finish(mut self) -> (Option<i32>, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let screen = self.screen.lock().unwrap().clone();
        (status.code(), screen)
    }
}
