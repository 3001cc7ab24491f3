//! Work that must happen before db-migrate exits, also when it exits on Ctrl-C: dropping a
//! scratch database, removing a temporary ini. A command registers the job when it creates the
//! thing and disarms it once it has cleaned up itself; the interrupt handler runs whatever is
//! still registered before it exits.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;
type MakeJob = Box<dyn FnOnce() -> Job + Send>;

static JOBS: Mutex<Vec<(u64, MakeJob)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A registered job; [`Registration::disarm`] when the caller has done the work itself.
#[must_use = "a registration that is dropped stays armed until exit"]
pub struct Registration(u64);

impl Registration {
    pub fn disarm(self) {
        jobs().retain(|(id, _)| *id != self.0);
    }
}

/// Run `job` if db-migrate is interrupted before the registration is disarmed.
pub fn register<F>(job: impl FnOnce() -> F + Send + 'static) -> Registration
where
    F: Future<Output = ()> + Send + 'static,
{
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    jobs().push((id, Box::new(move || Box::pin(job()))));
    Registration(id)
}

/// Run every armed job, newest first, each bounded by `limit` (an exit must not hang on a
/// server that stopped answering).
pub async fn run_all(limit: Duration) {
    let pending: Vec<(u64, MakeJob)> = std::mem::take(&mut *jobs());
    for (_, make) in pending.into_iter().rev() {
        let _ = tokio::time::timeout(limit, make()).await;
    }
}

fn jobs() -> std::sync::MutexGuard<'static, Vec<(u64, MakeJob)>> {
    JOBS.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn armed_jobs_run_newest_first_and_disarmed_ones_do_not() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let push = |name: &'static str| {
            let log = log.clone();
            move || async move { log.lock().unwrap().push(name) }
        };
        let first = register(push("first"));
        let second = register(push("second"));
        let gone = register(push("disarmed"));
        gone.disarm();
        run_all(Duration::from_secs(1)).await;
        assert_eq!(*log.lock().unwrap(), ["second", "first"]);
        // Run once: nothing is left armed.
        run_all(Duration::from_secs(1)).await;
        assert_eq!(log.lock().unwrap().len(), 2);
        first.disarm();
        second.disarm();
    }
}
