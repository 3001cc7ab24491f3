//! The one path every stdout write takes (the `out!`/`outln!` macros), and what it remembers
//! about failures (ripgrep's "errored" flag, for output).

use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The reader closed the pipe: stop writing, exit as if everything had been read.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// Something was written (a JSON document may be on its way out).
static WRITTEN: AtomicBool = AtomicBool::new(false);
/// The first write error that was not a closed pipe.
static LOST: Mutex<Option<String>> = Mutex::new(None);

pub fn write(args: std::fmt::Arguments<'_>, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) || failed() {
        return;
    }
    WRITTEN.store(true, Ordering::Relaxed);
    let mut out = io::stdout().lock();
    let result = out
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush());
    if let Err(e) = result {
        record(&e);
    }
}

/// Note a failed write: a closed pipe silences stdout, anything else is kept for the end.
pub fn record(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CLOSED.store(true, Ordering::Relaxed);
        return;
    }
    let mut lost = LOST.lock().unwrap_or_else(|p| p.into_inner());
    lost.get_or_insert_with(|| e.to_string());
}

fn failed() -> bool {
    LOST.lock().unwrap_or_else(|p| p.into_inner()).is_some()
}

/// Whether anything was written to stdout (successfully or not).
pub fn written() -> bool {
    WRITTEN.load(Ordering::Relaxed)
}

/// The exit code once stdout's fate is known: a lost write turns a success into exit 1 and
/// is said in one line on stderr; any other code already says "not a success" more precisely
/// (2 usage, 3 not up-to-date, 130 interrupted) and is kept, with the same line.
pub fn finish(code: u8) -> u8 {
    let lost = LOST.lock().unwrap_or_else(|p| p.into_inner()).take();
    match lost {
        None => code,
        Some(e) => {
            // Not eprintln!: a broken stderr too must not panic.
            let _ = writeln!(
                io::stderr(),
                "error: writing to stdout failed ({e}), so part of db-migrate's output is missing; check where stdout goes (disk full?) and rerun"
            );
            if code == crate::exit_code::OK {
                crate::exit_code::FAILED
            } else {
                code
            }
        }
    }
}
