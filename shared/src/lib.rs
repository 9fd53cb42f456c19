//! Strata's core: the fleet spec, the observed model, pure planning, AWS adapters, event decoding and
//! telemetry, shared by the four Lambda functions (observe → plan → guard → apply).

pub mod alarms;
pub mod answer;
pub mod attach;
pub mod attributes;
pub mod aws;
pub mod custom_resource;
pub mod dns;
pub mod error;
pub mod events;
pub mod finish;
pub mod fleets;
pub mod model;
pub mod names;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod protection;
pub mod provision;
pub mod rebalance;
pub mod register;
pub mod relief;
pub mod reservation;
pub mod scale;
pub mod settings;
pub mod shard;
pub mod simulate;
pub mod spec;
pub mod teardown;
pub mod telemetry;

pub use error::{Result, StrataError};
