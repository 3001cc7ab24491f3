//! One db-migrate at a time per database: a session-level advisory lock on its own connection.

use std::time::Duration;

use tokio_postgres::SimpleQueryMessage;

use super::connect::{connect, error_text};

/// A session-level advisory lock held on its own connection; dropping it closes the connection,
/// which releases the lock (also if db-migrate dies).
pub struct MigrationLock {
    _client: tokio_postgres::Client,
    _connection: tokio::task::JoinHandle<()>,
}

pub enum LockError {
    TimedOut,
    Failed(String),
}

/// The lock key for one component's database: stable across processes and machines.
pub fn lock_key(database: &str, component: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("db-migrate:{database}:{component}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Take the migration lock, polling every 250 ms; `on_wait` is called once if it is held elsewhere.
pub async fn advisory_lock(
    config: &tokio_postgres::Config,
    key: i64,
    timeout: Duration,
    on_wait: impl FnOnce(),
) -> Result<MigrationLock, LockError> {
    let mut config = config.clone();
    config.application_name("db-migrate lock");
    let (client, connection) = connect(&config).await.map_err(LockError::Failed)?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let deadline = tokio::time::Instant::now() + timeout;
    let mut on_wait = Some(on_wait);
    loop {
        let rows = client
            .simple_query(&format!("SELECT pg_try_advisory_lock({key})"))
            .await
            .map_err(|e| LockError::Failed(error_text(&e)))?;
        let got = rows
            .iter()
            .any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("t")));
        if got {
            return Ok(MigrationLock {
                _client: client,
                _connection: connection,
            });
        }
        if let Some(f) = on_wait.take() {
            f();
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(LockError::TimedOut);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
