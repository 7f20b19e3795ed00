//! An xAPI Learning Record Store under `/xapi/`, feeding the passport. It speaks xAPI 1.0.3 (to
//! every 1.0.x client) and xAPI 2.0 (IEEE 9274.1.1-2023; what 2.0 changes is in [`v2`]).
//!
//! Learning platforms already speak xAPI: pointed at this LRS with an organisation client's
//! credentials, they store statements and documents here, and statements saying that a person
//! of the passport completed an activity become issued records (see [`feed`]). Each
//! organisation's statements and documents are its own: no other organisation sees them.

pub mod alternate;
pub mod answer;
pub mod auth;
pub mod definitions;
pub mod documents;
mod equivalence;
pub mod erase;
mod feed;
pub mod format;
pub mod handlers;
pub mod multipart;
pub mod normalise;
pub mod query;
mod signature;
pub mod statements;
pub mod store;
pub mod usage;
pub mod v2;
pub mod validate;
pub mod version;

use crate::db::ids::{OrganisationId, StatementId};
use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

pub use auth::LrsClient;
pub use erase::{ErasedXapi, erase_person};
use statements::Prepared;
use usage::{Quotas, Usage};

use crate::completions::Issuer;
use crate::db::DbConnection;
use crate::db::types::Timestamp;
use crate::db::write_group::transaction_in_group;
use crate::error::{Error, FieldError};

/// A malformed request. xAPI answers every one with 400 (never 422), naming what is wrong.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    let field = field.into();
    Error::BadRequest {
        detail: format!("`{field}` {}", message.into()),
        field: Some(field),
    }
}

/// The same for a checker's finding.
pub(crate) fn refused(error: FieldError) -> Error {
    invalid(error.field, error.message)
}

/// The most statements one request may store.
pub const MAX_STATEMENTS: usize = 1000;

/// Checks received statements and stores them with their attachments in one transaction:
/// either all are stored or none. Answers their ids in the order received.
///
/// `put_id` is the `statementId` of a PUT, which the statement's own id (if any) must match.
/// Statements or attachment content that would take the organisation past its quotas are
/// refused, and nothing is stored.
pub fn store_statements(
    conn: &mut DbConnection,
    client: &LrsClient,
    public_url: &str,
    received: Vec<Value>,
    attachments: Vec<multipart::Attachment>,
    put_id: Option<Uuid>,
    quotas: &Quotas,
) -> Result<Vec<Uuid>, Error> {
    if received.len() > MAX_STATEMENTS {
        return Err(invalid(
            "statements",
            format!("at most {MAX_STATEMENTS} statements in one request"),
        ));
    }
    // Errors name fields as the validation does: no index for a single statement.
    let single = put_id.is_some() || received.len() == 1;
    let authority = statements::authority(public_url, &client.client_id);
    let mut prepared = prepare_batch(received, put_id, single, &authority, client.version)?;
    every_attachment_sent(&prepared, &attachments, single)?;
    let ids: Vec<Uuid> = prepared.iter().map(|p| p.id).collect();
    let rows: Vec<store::AttachmentRow> = attachments
        .into_iter()
        .map(|a| store::AttachmentRow {
            organisation_id: client.organisation_id,
            sha2: a.sha2,
            content_type: a.content_type,
            content: a.body,
        })
        .collect();
    let issuer = Issuer {
        organisation_id: client.organisation_id,
        client_id: client.client_id.clone(),
    };
    admit(conn, client.organisation_id, &prepared, &rows, quotas)?;
    // On SQLite, whose one writer they would queue for anyway, the statements of requests
    // arriving together are committed together, each request's in a savepoint of its own.
    let (organisation_id, public_url, quotas) =
        (client.organisation_id, public_url.to_owned(), *quotas);
    transaction_in_group(conn, prepared.len(), move |conn| {
        let stored = Timestamp::now().0;
        prepared.iter_mut().for_each(|p| p.stamp(stored));
        let inserted = store::insert(conn, organisation_id, prepared, rows)?;
        feed::feed(conn, &issuer, &public_url, &inserted.fresh)?;
        let added = Usage {
            statements: inserted.fresh.len() as i64,
            documents: 0,
            attachment_bytes: inserted.attachment_bytes,
        };
        usage::apply(conn, organisation_id, added, &quotas)
    })?;
    Ok(ids)
}

/// Checks each statement of a batch by the rules of the client's version and prepares it for
/// storing; an id may appear once.
fn prepare_batch(
    received: Vec<Value>,
    put_id: Option<Uuid>,
    single: bool,
    authority: &Value,
    version: version::XapiVersion,
) -> Result<Vec<Prepared>, Error> {
    let mut prepared = Vec::with_capacity(received.len());
    let mut seen = HashSet::new();
    for (index, mut statement) in received.into_iter().enumerate() {
        let field = if single {
            String::new()
        } else {
            format!("[{index}]")
        };
        if let Some(id) = put_id {
            identify_as(&mut statement, id)?;
        }
        let one = v2::data::prepare(statement, &field, authority, version).map_err(refused)?;
        if !seen.insert(one.id) {
            return Err(invalid(format!("{field}.id"), "appears twice in the batch"));
        }
        prepared.push(one);
    }
    Ok(prepared)
}

/// Gives a statement PUT under `id` that id, which its own id (if any) must match.
fn identify_as(statement: &mut Value, id: Uuid) -> Result<(), Error> {
    let Value::Object(map) = statement else {
        return Ok(());
    };
    match map.get("id").and_then(Value::as_str).map(Uuid::parse_str) {
        Some(Ok(own)) if own != id => Err(invalid("id", "differs from the statementId parameter")),
        Some(_) => Ok(()),
        None => {
            map.insert("id".into(), Value::String(id.to_string()));
            Ok(())
        }
    }
}

/// Every attachment a statement declares without a fileUrl must have come with it.
fn every_attachment_sent(
    prepared: &[Prepared],
    attachments: &[multipart::Attachment],
    single: bool,
) -> Result<(), Error> {
    let sent: HashSet<String> = attachments
        .iter()
        .map(|a| a.sha2.to_ascii_lowercase())
        .collect();
    for (index, statement) in prepared.iter().enumerate() {
        if let Some(missing) = multipart::declared_without_url(&statement.statement)
            .into_iter()
            .find(|sha2| !sent.contains(&sha2.to_ascii_lowercase()))
        {
            let field = if single {
                "attachments".to_owned()
            } else {
                format!("[{index}].attachments")
            };
            return Err(invalid(
                field,
                format!(
                    "attachment {missing} has no fileUrl and was not sent: send it as a part of a multipart/mixed request"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses, before the storing transaction begins, statements that cannot fit the
/// organisation's quotas: a client at its quota that keeps sending costs a read, not a write
/// rolled back after holding SQLite's one writer lock. Usually nothing is read: the usage this
/// process last saw leaves room enough ([`usage::surely_fits`]). Otherwise the usage is read,
/// and what is really new is looked up only near a quota. The transaction checks again,
/// exactly.
fn admit(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    prepared: &[Prepared],
    rows: &[store::AttachmentRow],
    quotas: &Quotas,
) -> Result<(), Error> {
    let mut added = Usage {
        statements: prepared.len() as i64,
        documents: 0,
        attachment_bytes: rows.iter().map(|r| r.content.len() as i64).sum(),
    };
    if usage::surely_fits(organisation_id, &added, quotas) {
        return Ok(());
    }
    let held = usage::current(conn, organisation_id)?;
    if held.admits(&added, quotas).is_ok() {
        return Ok(());
    }
    // Statements sent again and content held already add nothing.
    let ids: Vec<StatementId> = prepared.iter().map(|p| StatementId(p.id)).collect();
    let known = store::stored_ids(conn, organisation_id, &ids)?;
    added.statements -= known.len() as i64;
    if added.statements == 0 {
        // Nothing new to store: not even the attachments are written.
        return Ok(());
    }
    if held.attachment_bytes.saturating_add(added.attachment_bytes) > quotas.attachment_bytes {
        let hashes: Vec<String> = rows.iter().map(|r| r.sha2.clone()).collect();
        let kept = store::attachment_sizes(conn, organisation_id, &hashes)?;
        added.attachment_bytes = rows
            .iter()
            .filter(|r| !kept.contains_key(&r.sha2))
            .map(|r| r.content.len() as i64)
            .sum();
    }
    held.admits(&added, quotas)
}

/// One statement by id (`voided` for `voidedStatementId`), or 404.
pub fn statement(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: StatementId,
    voided: bool,
) -> Result<store::StoredStatement, Error> {
    store::get(conn, organisation_id, id, voided)?.ok_or_else(|| {
        Error::NotFound(if voided {
            format!("no voided statement {id}")
        } else {
            format!("no statement {id} (a voided statement is found by voidedStatementId)")
        })
    })
}

/// Stored attachments for the statements answered, by SHA-2.
pub fn attachments_of(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    texts: &[&str],
) -> Result<Vec<multipart::Attachment>, Error> {
    let hashes = texts
        .iter()
        .flat_map(|text| statements::declared_attachments(text))
        .collect();
    stored_attachments(conn, organisation_id, hashes)
}

/// The stored attachments with these SHA-2s (lowercase), each once, however many statements
/// declare it.
fn stored_attachments(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    mut hashes: Vec<String>,
) -> Result<Vec<multipart::Attachment>, Error> {
    hashes.sort();
    hashes.dedup();
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store::attachments(conn, organisation_id, &hashes)?
        .into_iter()
        .map(|(sha2, content_type, body)| multipart::Attachment {
            sha2,
            content_type,
            body,
        })
        .collect())
}
