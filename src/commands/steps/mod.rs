//! The steps every migrating command shares — `upgrade`/`downgrade`/`migrate`, `roundtrip` and
//! `fix-heads` — so each of them plans, asks, locks, runs and reports the same way.

pub mod ask;
pub mod describe;
pub mod each;
pub mod execute;
pub mod guard;
pub mod output;
pub mod scratch;

pub use ask::{confirm, confirm_to, Question};
pub use describe::{
    describe_current, describe_destruction, describe_plan, describe_sessions, destructive_ops,
};
pub use each::each_component;
pub use execute::{diagnose_run, execute};
pub use guard::{backup_if_asked, lock};
pub use output::{detail, say};
pub use scratch::probe_follows_url;
