//! Storing statements: new ones once, voids and their targets, attachments by SHA-2, and the
//! activity definitions they give (see [`super::activities`]).

use crate::db::ids::{OrganisationId, StatementId};
use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::activities::save_definitions;
use super::at_once;
use super::{AttachmentRow, CHUNK, IndexRow, StatementRow};
use crate::db::DbConnection;
use crate::db::schema::{xapi_attachments, xapi_statement_index, xapi_statements};
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::xapi::statements::{IndexEntry, IndexKind, Prepared, same_statement};

/// What a store really added: the statements that are new, and the bytes of attachment
/// content not already held under its SHA-2.
#[derive(Debug, Default)]
pub struct Inserted {
    pub fresh: Vec<Prepared>,
    pub attachment_bytes: i64,
}

/// Stores statements the caller has prepared, answering those that are new (an identical
/// statement already stored is not stored again). Runs inside the caller's transaction.
///
/// The statements are inserted first and only the ids the LRS held already are read back:
/// a POST of new statements, the usual case, costs no read before its insert. On PostgreSQL,
/// a batch that voids and references nothing is stored with its index rows in one round trip
/// ([`at_once`]).
pub fn insert(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    prepared: Vec<Prepared>,
    attachments: Vec<AttachmentRow>,
) -> Result<Inserted, Error> {
    let (fresh, definitions) = match conn {
        DbConnection::Postgres(pg) if at_once::fits(&prepared) => {
            let stored = at_once::store(pg, organisation_id, prepared)?;
            check_held(conn, organisation_id, &stored.held)?;
            (stored.fresh, Some(stored.definitions))
        }
        _ => {
            let fresh = insert_statements(conn, organisation_id, prepared)?;
            if fresh.is_empty() {
                return Ok(Inserted::default());
            }
            void_targets(conn, organisation_id, &fresh)?;
            let fresh = inherit_targets(conn, organisation_id, fresh)?;
            insert_index(conn, organisation_id, &fresh)?;
            (fresh, None)
        }
    };
    if fresh.is_empty() {
        return Ok(Inserted::default());
    }
    let attachment_bytes = insert_attachments(conn, attachments)?;
    save_definitions(conn, organisation_id, &fresh, definitions)?;
    Ok(Inserted {
        fresh,
        attachment_bytes,
    })
}

/// Inserts the statements whose ids the LRS does not hold yet, and answers them. An id it
/// holds already (stored earlier, or by a concurrent request) must be the same statement, or
/// the request is refused.
fn insert_statements(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    prepared: Vec<Prepared>,
) -> Result<Vec<Prepared>, Error> {
    let mut rows: Vec<StatementRow> = prepared
        .iter()
        .map(|p| StatementRow {
            organisation_id,
            statement_id: StatementId(p.id),
            stored: Timestamp::from(p.stored),
            voided: false,
            voids: p.voids.map(StatementId),
            statement: p.statement.to_string(),
            has_attachments: !p.attachments.is_empty(),
        })
        .collect();
    rows.sort_by_key(|row| row.statement_id);
    let mut inserted = HashSet::new();
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<StatementId> = crate::insert_new!(
            conn,
            xapi_statements::table,
            chunk,
            xapi_statements::statement_id
        )?;
        inserted.extend(ids);
    }
    if inserted.len() == prepared.len() {
        return Ok(prepared);
    }
    let (fresh, held): (Vec<_>, Vec<_>) = prepared
        .into_iter()
        .partition(|p| inserted.contains(&StatementId(p.id)));
    check_held(conn, organisation_id, &held)?;
    Ok(fresh)
}

/// Statements whose ids the LRS holds already (stored earlier, or by a concurrent request):
/// each must be the statement stored, or the request is refused.
fn check_held(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    held: &[Prepared],
) -> Result<(), Error> {
    let ids: Vec<StatementId> = held.iter().map(|p| StatementId(p.id)).collect();
    let mut texts: HashMap<StatementId, String> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        texts.extend(
            xapi_statements::table
                .filter(xapi_statements::organisation_id.eq(organisation_id))
                .filter(xapi_statements::statement_id.eq_any(chunk))
                .select((xapi_statements::statement_id, xapi_statements::statement))
                .load::<(StatementId, String)>(conn)?,
        );
    }
    for statement in held {
        let text = texts
            .get(&StatementId(statement.id))
            .ok_or_else(|| Error::Internal("a conflicting statement vanished".into()))?;
        unchanged(text, statement)?;
    }
    Ok(())
}

/// The index rows of the statements stored.
fn insert_index(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    fresh: &[Prepared],
) -> Result<(), Error> {
    let index: Vec<IndexRow> = fresh
        .iter()
        .flat_map(|p| {
            p.index.iter().map(move |e| IndexRow {
                organisation_id,
                statement_id: StatementId(p.id),
                kind: e.kind.as_str().to_owned(),
                value: e.value.clone(),
                related: e.related,
            })
        })
        .collect();
    for chunk in in_chunks(index) {
        crate::on_backend!(conn, |c| diesel::insert_into(xapi_statement_index::table)
            .values(&chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Stores attachment content not already held under its hash; answers the bytes added.
fn insert_attachments(
    conn: &mut DbConnection,
    attachments: Vec<AttachmentRow>,
) -> Result<i64, Error> {
    let sizes: HashMap<String, i64> = attachments
        .iter()
        .map(|a| (a.sha2.clone(), a.content.len() as i64))
        .collect();
    let mut rows = attachments;
    rows.sort_by(|a, b| a.sha2.cmp(&b.sha2));
    let mut attachment_bytes = 0;
    for chunk in rows.chunks(CHUNK) {
        // Content already held under the same hash is the same content: only what this
        // request added is counted, not what a concurrent request stored first.
        let added: Vec<String> =
            crate::insert_new!(conn, xapi_attachments::table, chunk, xapi_attachments::sha2)?;
        attachment_bytes += added.iter().filter_map(|sha2| sizes.get(sha2)).sum::<i64>();
    }
    Ok(attachment_bytes)
}

/// Which of these statement ids the organisation's LRS holds already.
pub fn stored_ids(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    ids: &[StatementId],
) -> Result<HashSet<StatementId>, Error> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        found.extend(
            xapi_statements::table
                .filter(xapi_statements::organisation_id.eq(organisation_id))
                .filter(xapi_statements::statement_id.eq_any(chunk))
                .select(xapi_statements::statement_id)
                .load::<StatementId>(conn)?,
        );
    }
    Ok(found)
}

/// Rows in owned chunks: diesel's SQLite multi-row insert takes a `Vec`, not a slice.
pub(super) fn in_chunks<T>(mut rows: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(CHUNK));
        chunks.push(rows);
        rows = rest;
    }
    chunks
}

/// An id already stored: fine if it is the same statement, a conflict otherwise.
pub(super) fn unchanged(stored: &str, received: &Prepared) -> Result<(), Error> {
    let stored: Value = serde_json::from_str(stored)
        .map_err(|e| Error::Internal(format!("a stored statement is not JSON: {e}")))?;
    if same_statement(&stored, received) {
        Ok(())
    } else {
        Err(Error::Conflict(format!(
            "a different statement with id {} is already stored: statements cannot change",
            received.id
        )))
    }
}

/// Marks the targets of voiding statements voided. A voiding statement cannot itself be voided;
/// a target the LRS does not hold (yet) is no reason to refuse.
pub(super) fn void_targets(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    fresh: &[Prepared],
) -> Result<(), Error> {
    let targets: Vec<StatementId> = fresh
        .iter()
        .filter_map(|p| p.voids)
        .map(StatementId)
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let voiding_in_batch: HashSet<Uuid> = fresh
        .iter()
        .filter(|p| p.voids.is_some())
        .map(|p| p.id)
        .collect();
    let voiding_stored: Vec<StatementId> = xapi_statements::table
        .filter(xapi_statements::organisation_id.eq(organisation_id))
        .filter(xapi_statements::statement_id.eq_any(&targets))
        .filter(xapi_statements::voids.is_not_null())
        .select(xapi_statements::statement_id)
        .load(conn)?;
    if let Some(target) = targets
        .iter()
        .find(|t| voiding_in_batch.contains(&t.0) || voiding_stored.contains(t))
    {
        return Err(crate::xapi::invalid(
            "object.id",
            format!("statement {target} is itself a voiding statement: it cannot be voided"),
        ));
    }
    diesel::update(
        xapi_statements::table
            .filter(xapi_statements::organisation_id.eq(organisation_id))
            .filter(xapi_statements::statement_id.eq_any(&targets)),
    )
    .set(xapi_statements::voided.eq(true))
    .execute(conn)?;
    Ok(())
}

/// A statement that targets another (by StatementRef) is found by whatever finds its target,
/// stored earlier or in the same batch.
pub(super) fn inherit_targets(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    mut fresh: Vec<Prepared>,
) -> Result<Vec<Prepared>, Error> {
    let targets: Vec<StatementId> = fresh
        .iter()
        .filter_map(|p| p.targets)
        .map(StatementId)
        .collect();
    if targets.is_empty() {
        return Ok(fresh);
    }
    // The batch's own targets, whose index rows are not written yet.
    let wanted: HashSet<&StatementId> = targets.iter().collect();
    let mut by_target: HashMap<StatementId, Vec<IndexEntry>> = fresh
        .iter()
        .filter(|p| wanted.contains(&StatementId(p.id)))
        .map(|p| (StatementId(p.id), p.index.clone()))
        .collect();
    let rows: Vec<(StatementId, String, String, bool)> = xapi_statement_index::table
        .filter(xapi_statement_index::organisation_id.eq(organisation_id))
        .filter(xapi_statement_index::statement_id.eq_any(&targets))
        .select((
            xapi_statement_index::statement_id,
            xapi_statement_index::kind,
            xapi_statement_index::value,
            xapi_statement_index::related,
        ))
        .load(conn)?;
    for (id, kind, value, related) in rows {
        if let Some(kind) = IndexKind::parse(&kind) {
            by_target.entry(id).or_default().push(IndexEntry {
                kind,
                value,
                related,
            });
        }
    }
    for statement in &mut fresh {
        let Some(inherited) = statement
            .targets
            .and_then(|t| by_target.get(&StatementId(t)))
        else {
            continue;
        };
        for entry in inherited {
            match statement
                .index
                .iter_mut()
                .find(|e| e.kind == entry.kind && e.value == entry.value)
            {
                Some(own) => own.related &= entry.related,
                None => statement.index.push(entry.clone()),
            }
        }
    }
    Ok(fresh)
}
