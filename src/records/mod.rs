//! Training records: each person's own history, self-declared or issued by a learning platform.
//!
//! - [`model`]: the API's types; `validity.rs`: what makes a record's content valid;
//! - [`row`]: a record as stored;
//! - [`store`]: the owner's reads and changes, and how many records one passport holds;
//! - [`patch`]: changes as a JSON merge patch;
//! - [`shared`]: what an organisation's grants let it see;
//! - [`issued`]: the issuer's side: records found by its own ids, stored in batches, changed
//!   with their history kept.

pub mod handlers;
pub mod issued;
pub mod model;
pub mod patch;
pub mod row;
pub mod shared;
pub mod store;
mod validity;

pub use model::{Record, RecordContent, RecordKind, RecordVersion};
pub use patch::RecordPatch;
pub use row::{RecordRow, RecordWithIssuer};
pub use shared::{SharedScope, Viewer};
pub use store::RecordFilter;
