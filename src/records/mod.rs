//! Training records: each person's own history, self-declared or issued by a learning platform.

pub mod handlers;
pub mod model;
pub mod store;

pub use model::{Record, RecordContent, RecordKind};
pub use store::{RecordFilter, RecordRow};
