//! What every child process db-migrate starts gets between fork and exec: the default
//! disposition of the signals db-migrate handles itself, an empty signal mask, and (on Linux) a
//! SIGKILL when db-migrate dies, so that no `pg_dump`, `pg_restore` or Python outlives it — not
//! even after `exit(130)` on Ctrl-C, which runs no destructor and so no `kill_on_drop`.

use std::os::unix::process::CommandExt as _;

/// Arrange for `cmd`'s process to reset its signals and die with db-migrate (see the module).
pub fn tie_to_parent(cmd: &mut std::process::Command) {
    // SAFETY: `reset_and_tie` makes only async-signal-safe libc calls.
    unsafe {
        cmd.pre_exec(|| reset_and_tie());
    }
}

/// The body of a `pre_exec` hook (for commands built as `tokio::process::Command`).
///
/// # Safety
/// Only to be called between fork and exec: it changes the calling process's signal state.
pub unsafe fn reset_and_tie() -> std::io::Result<()> {
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGQUIT,
        libc::SIGPIPE,
        libc::SIGHUP,
    ] {
        libc::signal(sig, libc::SIG_DFL);
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    #[cfg(target_os = "linux")]
    {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        // db-migrate died before the prctl: nobody is left to wait for this child.
        if libc::getppid() == 1 {
            libc::_exit(1);
        }
    }
    Ok(())
}
