//! Pure planning: `(spec, observed, trigger, now) → plan`. No I/O, no clock, no randomness.

pub mod guard;
pub mod scale;
pub mod weights;
