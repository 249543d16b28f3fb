//! Read queries. Every list reads only the rows it returns, through an index.
//! One file per entity; this door only names them.
//!
//! Part of `backend::local` (layer 4): its files import each other
//! downwards only, and never this door.

mod agents;
pub mod audit_runs;
mod audits;
mod coverage;
mod dashboard;
mod delegations;
mod deployments;
mod exceptions;
mod figures;
mod incidents;
mod obligations;
mod policies;
mod policy_sets;
mod queue;
mod recertification;
mod report;
mod reviews;
pub mod snapshot;
mod standing_days;
mod standings;
mod users;
mod weeks;
mod workflows;

pub use agents::*;
pub use audits::*;
pub use coverage::*;
pub use dashboard::*;
pub use delegations::*;
pub use deployments::*;
pub use exceptions::*;
pub use figures::*;
pub use incidents::*;
pub use obligations::*;
pub use policies::*;
pub use policy_sets::*;
pub use queue::*;
pub use recertification::*;
pub use report::*;
pub use reviews::*;
pub use standing_days::*;
pub use standings::*;
pub use users::*;
pub use weeks::weeks_of;
pub use workflows::*;
