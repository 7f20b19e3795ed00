//! The LRS's tables: statements, their index, attachments and activity definitions.

//!
//! - [`write`]: storing statements, their index and attachments;
//! - [`at_once`]: the same on PostgreSQL in one round trip, for batches that reference nothing;
//! - [`activities`]: the activity definitions they give, merged;
//! - [`read`]: reading them back;
//! - [`rewrite`]: statements stored before a change of the stored form, rewritten once.

mod activities;
mod at_once;
mod read;
mod rewrite;
mod write;

use crate::db::ids::{OrganisationId, StatementId};
use diesel::prelude::*;

use crate::db::schema::{xapi_activities, xapi_attachments, xapi_statement_index, xapi_statements};
use crate::db::types::Timestamp;

pub use read::{Filters, Measured, attachment_sizes, attachments, definition, get, measure, read};
pub use rewrite::finish_migrations;
pub use write::{Inserted, insert, stored_ids};

#[derive(Insertable)]
#[diesel(table_name = xapi_statements)]
// NULL rather than DEFAULT for an empty field: one prepared insert per connection.
#[diesel(treat_none_as_default_value = false)]
pub(super) struct StatementRow {
    organisation_id: OrganisationId,
    statement_id: StatementId,
    stored: Timestamp,
    voided: bool,
    voids: Option<StatementId>,
    statement: String,
    has_attachments: bool,
}

#[derive(Insertable)]
#[diesel(table_name = xapi_statement_index)]
pub(super) struct IndexRow {
    organisation_id: OrganisationId,
    statement_id: StatementId,
    kind: String,
    value: String,
    related: bool,
}

#[derive(Insertable)]
#[diesel(table_name = xapi_attachments)]
// No field may say DEFAULT: one prepared insert per connection (see `crate::insert_new`).
#[diesel(treat_none_as_default_value = false)]
pub struct AttachmentRow {
    pub organisation_id: OrganisationId,
    pub sha2: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Insertable)]
#[diesel(table_name = xapi_activities)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct ActivityRow {
    organisation_id: OrganisationId,
    activity_id: String,
    definition: String,
}

/// A statement as stored.
#[derive(Debug, Clone, Queryable)]
pub struct StoredStatement {
    pub statement_id: StatementId,
    pub stored: Timestamp,
    /// The statement's JSON text.
    pub statement: String,
    pub has_attachments: bool,
}

pub(super) type StoredColumns = (
    xapi_statements::statement_id,
    xapi_statements::stored,
    xapi_statements::statement,
    xapi_statements::has_attachments,
);

pub(super) const STORED: StoredColumns = (
    xapi_statements::statement_id,
    xapi_statements::stored,
    xapi_statements::statement,
    xapi_statements::has_attachments,
);

diesel::define_sql_function! {
    /// Bytes of a text (not characters), without reading it out of the database.
    fn octet_length(x: diesel::sql_types::Text) -> diesel::sql_types::Integer;
}

diesel::define_sql_function! {
    /// Bytes of a blob (`length` counts bytes of BLOB and bytea on both backends).
    #[sql_name = "length"]
    fn byte_length(x: diesel::sql_types::Binary) -> diesel::sql_types::Integer;
}

/// Rows per multi-row insert: well under SQLite's limit on bound values.
pub(super) const CHUNK: usize = 1000;
