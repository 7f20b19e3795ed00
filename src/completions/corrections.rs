//! What the issuer changes afterwards: corrections and voids; what the owner reads of it: history.

use chrono::Utc;
use diesel::prelude::*;

use super::*;
use crate::access::{self, Access};
use crate::activities;
use crate::db::schema::{record_history, records};
use crate::db::types::{Id, Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::records::store::{RecordPatch, RecordRow, RecordWithIssuer};

/// The issuing organisation's record for an external id, with a live write grant from its owner;
/// refusals are logged.
fn issued_for_change(
    conn: &mut DbConnection,
    issuer: &Issuer,
    external_id: &str,
    action: &'static str,
) -> Result<Result<(RecordRow, Id), Error>, Error> {
    let row: Option<RecordRow> = records::table
        .filter(records::issuer_organisation_id.eq(issuer.organisation_id))
        .filter(records::external_id.eq(external_id))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(Err(Error::NotFound(
            "your organisation issued no record with this external id".into(),
        )));
    };
    let grant =
        crate::grants::store::writers_among(conn, issuer.organisation_id, &[row.person_id])?
            .get(&row.person_id)
            .copied();
    access::append(
        conn,
        Access {
            person_id: row.person_id,
            organisation_id: issuer.organisation_id,
            client_id: &issuer.client_id,
            grant_id: grant,
            action,
            resource: format!("records/{}", row.id),
            allowed: grant.is_some(),
            reason: grant.is_none().then(|| "no live write grant".to_owned()),
        },
    )?;
    match grant {
        Some(grant) => Ok(Ok((row, grant))),
        None => Ok(Err(Error::NotFound(
            "no live write grant from this record's owner to your organisation".into(),
        ))),
    }
}

fn with_issuer(conn: &mut DbConnection, row: RecordRow) -> Result<RecordWithIssuer, Error> {
    let name = match row.issuer_organisation_id {
        Some(id) => Some(issuer_name(conn, id)?),
        None => None,
    };
    Ok((row, name))
}

fn reload(conn: &mut DbConnection, id: Id) -> Result<RecordRow, Error> {
    Ok(records::table
        .find(id)
        .select(RecordRow::as_select())
        .first(conn)?)
}

/// Corrects an issued record (JSON merge patch); the previous version stays in its history.
pub fn correct(
    conn: &mut DbConnection,
    issuer: &Issuer,
    external_id: &str,
    patch: RecordPatch,
) -> Result<RecordWithIssuer, Error> {
    if patch.hidden.is_some() || !patch.notes.is_keep() {
        let field = if patch.hidden.is_some() {
            "hidden"
        } else {
            "notes"
        };
        return Err(Error::invalid(
            field,
            "belongs to the record's owner; an issuer cannot set it",
        ));
    }
    transaction(conn, |conn| {
        let (row, _) = match issued_for_change(conn, issuer, external_id, "completions.correct")? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if row.voided_at.is_some() {
            return Ok(Err(Error::Conflict(
                "the record was voided and can no longer be corrected".into(),
            )));
        }
        let touched = patch.touched();
        let mut content = row.content();
        patch.apply(&mut content).map_err(Error::Validation)?;
        if !touched.contains(&"expires_at")
            && (touched.contains(&"completed_at") || touched.contains(&"activity_code"))
        {
            // The expiry followed from completion and activity: let it follow them again.
            if let (Some(code), Some(completed)) =
                (content.activity_code.clone(), content.completed_at)
            {
                let catalogue = activities::lookup(conn, std::slice::from_ref(&code))?;
                if let Some(expiry) = activities::expiry(
                    completed,
                    catalogue.get(&code).and_then(|a| a.refresher_months),
                ) {
                    content.expires_at = Some(expiry);
                }
            }
        }
        let content = content.normalised();
        content.validate(Utc::now()).map_err(Error::Validation)?;
        if content != row.content() {
            match change(
                conn,
                &row,
                Some(content),
                None,
                "corrected",
                issuer.organisation_id,
            )? {
                Changed::Applied => {}
                // Another writer changed it since it was read: correcting what it was then
                // would undo that change.
                Changed::Raced => return Err(Error::PreconditionFailed),
                Changed::TooManyVersions => {
                    return Ok(Err(Error::Conflict(format!(
                        "the record has {MAX_VERSIONS} earlier versions, the most it may keep: void it and push a new one"
                    ))));
                }
            }
        }
        let row = reload(conn, row.id)?;
        Ok(Ok(with_issuer(conn, row)?))
    })?
}

/// Voids an issued record: it stays in its owner's history, marked, and leaves every
/// organisation's view. Voiding again changes nothing.
pub fn void(
    conn: &mut DbConnection,
    issuer: &Issuer,
    external_id: &str,
    reason: &str,
) -> Result<RecordWithIssuer, Error> {
    // The length as sent, as the documented maxLength says.
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "must be 1 to 500 characters"));
    }
    let reason = reason.trim();
    transaction(conn, |conn| {
        let (row, _) = match issued_for_change(conn, issuer, external_id, "completions.void")? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if row.voided_at.is_none() {
            change(
                conn,
                &row,
                None,
                Some(reason),
                "voided",
                issuer.organisation_id,
            )?;
        }
        let row = reload(conn, row.id)?;
        Ok(Ok(with_issuer(conn, row)?))
    })?
}

/// A person's record's earlier versions, newest first.
pub fn history(
    conn: &mut DbConnection,
    person_id: Id,
    record_id: Id,
) -> Result<Vec<RecordVersion>, Error> {
    crate::records::store::get(conn, person_id, record_id)?;
    let rows: Vec<(i32, Json, String, Option<Id>, Timestamp)> = record_history::table
        .filter(record_history::record_id.eq(record_id))
        .order(record_history::version.desc())
        .select((
            record_history::version,
            record_history::content,
            record_history::change,
            record_history::changed_by,
            record_history::changed_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(version, content, change, changed_by, changed_at)| RecordVersion {
                version,
                change,
                changed_by: changed_by.map(|i| i.0),
                changed_at: changed_at.0,
                content: content.0,
            },
        )
        .collect())
}
