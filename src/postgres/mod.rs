//! Everything db-migrate does with PostgreSQL itself, natively: connecting with the config's URL
//! (`connect`), waiting for a server to come up (`wait`), the migration lock (`lock`), and
//! through `pg_dump` (`pgdump`): `--backup` (`backup`) and roundtrip's schema snapshots
//! (`snapshot`). The password never goes on a command line.

pub mod backup;
pub mod connect;
pub mod lock;
pub mod pgdump;
pub mod scratch;
pub mod snapshot;
pub mod wait;

pub use connect::{connect_config, current, other_sessions};
pub use lock::{advisory_lock, lock_key, LockError, MigrationLock};
pub use wait::wait_until_ready;
