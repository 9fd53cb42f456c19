//! The `strata` CLI's reports, a library so that the JSON it prints can be read back as typed reports.

pub mod pause;
pub mod report;
