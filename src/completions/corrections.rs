//! What the issuer changes afterwards: corrections and voids; what the owner reads of it: history.

use crate::db::ids::GrantId;
use chrono::Utc;

use super::*;
use crate::access::{self, Access};
use crate::activities;
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::records::issued::{self, Changed, IssuerChange, MAX_VERSIONS};
use crate::records::{RecordPatch, RecordRow, RecordWithIssuer};

/// The issuing organisation's record for an external id, with a live write grant from its owner;
/// refusals are logged.
fn issued_for_change(
    conn: &mut DbConnection,
    issuer: &Issuer,
    external_id: &str,
    action: &'static str,
) -> Result<Result<(RecordRow, GrantId), Error>, Error> {
    let row = issued::by_external_id(conn, issuer.organisation_id, external_id)?;
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

/// The record as it is now, as its owner's API shows it.
fn reread(conn: &mut DbConnection, row: &RecordRow) -> Result<RecordWithIssuer, Error> {
    crate::records::store::get(conn, row.person_id, row.id)
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
            if let (Some(code), Some(completed)) = (
                content.learning.activity_code.clone(),
                content.learning.completed_at,
            ) {
                let catalogue = activities::lookup(conn, std::slice::from_ref(&code))?;
                if let Some(expiry) = activities::expiry(
                    completed,
                    catalogue.get(&code).and_then(|a| a.refresher_months),
                ) {
                    content.learning.expires_at = Some(expiry);
                }
            }
        }
        let content = content.normalised();
        content.validate(Utc::now()).map_err(Error::Validation)?;
        if content != row.content() {
            let change = IssuerChange::Content {
                content,
                how: "corrected",
            };
            match issued::change(conn, &row, change, issuer.organisation_id)? {
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
        Ok(Ok(reread(conn, &row)?))
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
            let change = IssuerChange::Void { reason };
            if issued::change(conn, &row, change, issuer.organisation_id)? == Changed::Applied {
                // A badge in the organisation's name does not outlive its withdrawal.
                crate::credentials::store::revoke_badges_of_record(conn, row.id)?;
            }
        }
        Ok(Ok(reread(conn, &row)?))
    })?
}
