//! Pure planning: `(spec, observed, trigger, now) → plan`. No I/O, no clock, no randomness.

pub mod alarms;
pub mod attachments;
pub mod guard;
pub mod health_checks;
pub mod protection;
pub mod provision;
pub mod records;
pub mod removal;
pub mod reservation;
pub mod scale;
pub mod shard;
pub mod steps;
pub mod weights;
