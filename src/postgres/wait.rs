//! `--wait`: keep trying to connect until the database accepts connections or the time is up.

use std::time::Duration;

use super::connect::{connect, CONNECT_TIMEOUT};

/// Try to connect until it works or `limit` has passed, backing off from 100 ms to 2 s; the last
/// sleep is whatever time remains, then one last attempt. Calls `on_first_failure` once, when
/// the first attempt fails. Returns the last error on time-out.
pub async fn wait_until_ready(
    config: &tokio_postgres::Config,
    limit: Duration,
    on_first_failure: impl FnOnce(),
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut backoff = Backoff::default();
    let mut on_first_failure = Some(on_first_failure);
    loop {
        let mut attempt = config.clone();
        attempt.connect_timeout(
            deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .clamp(Duration::from_millis(100), CONNECT_TIMEOUT),
        );
        let error = match connect(&attempt).await {
            Ok((client, connection)) => {
                drop(client);
                let _ = connection.await;
                return Ok(());
            }
            Err(e) => e,
        };
        // Wrong credentials or a missing database will not fix themselves: stop waiting.
        if error.contains("password authentication failed") || error.contains("does not exist") {
            return Err(error);
        }
        if let Some(f) = on_first_failure.take() {
            f();
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match backoff.next_sleep(remaining) {
            Some(sleep) => tokio::time::sleep(sleep).await,
            None => return Err(error),
        }
    }
}

/// The sleeps between connection attempts: 100 ms doubling to 2 s, never past the deadline.
struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            delay: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// How long to sleep before the next attempt when `remaining` is left, or `None` when the
    /// time is up (the attempt that just failed was the last one).
    fn next_sleep(&mut self, remaining: Duration) -> Option<Duration> {
        if remaining.is_zero() {
            return None;
        }
        let sleep = self.delay.min(remaining);
        self.delay = (self.delay * 2).min(Duration::from_secs(2));
        Some(sleep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_sleeps_until_the_deadline_then_stops() {
        // Sleep lengths for a 10 s wait where every attempt fails at once.
        let mut backoff = Backoff::default();
        let mut remaining = Duration::from_secs(10);
        let mut sleeps = Vec::new();
        while let Some(sleep) = backoff.next_sleep(remaining) {
            sleeps.push(sleep.as_millis());
            remaining -= sleep;
        }
        assert_eq!(sleeps, [100, 200, 400, 800, 1600, 2000, 2000, 2000, 900]);
        assert_eq!(sleeps.iter().sum::<u128>(), 10_000);
        // A deadline closer than the next step is slept to exactly.
        let mut backoff = Backoff::default();
        assert_eq!(
            backoff.next_sleep(Duration::from_millis(30)),
            Some(Duration::from_millis(30))
        );
        assert_eq!(backoff.next_sleep(Duration::ZERO), None);
    }
}
