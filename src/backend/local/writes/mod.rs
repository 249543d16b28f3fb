//! State changes. Each runs inside one transaction given by the caller and
//! appends its trail events in that same transaction. One file per entity;
//! each rule is enforced here, where both the embedded store and the server
//! write, so no path can skip it.
//!
//! Part of `backend::local` (layer 4): its files import `checks`, `stamps`,
//! the reads and each other downwards only, and never this door.

mod alerts;
mod audit_runs;
mod audits;
mod blocked;
mod checks;
mod coverage;
mod delegations;
mod deployments;
mod exceptions;
mod figures;
mod incidents;
mod obligations;
mod policy_sets;
mod report_schedules;
mod reviews;
mod stamps;
mod standings;
mod usage;
mod users;
mod workflows;

pub use alerts::*;
pub use audit_runs::*;
pub use audits::*;
pub use blocked::*;
pub use checks::*;
pub use coverage::*;
pub use delegations::*;
pub use deployments::*;
pub use exceptions::*;
pub use figures::*;
pub use incidents::*;
pub use obligations::*;
pub use policy_sets::*;
pub use report_schedules::*;
pub use reviews::*;
pub use stamps::*;
pub use standings::*;
pub use usage::*;
pub use users::*;
pub use workflows::*;
