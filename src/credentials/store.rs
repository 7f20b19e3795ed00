//! The `credentials` table: what was issued to whom, in which status-list slot, and whether it
//! was revoked. The content lives only in the signed JWT.

use crate::db::ids::{AttainmentId, CredentialId, PersonId, RecordId};
use diesel::prelude::*;

use super::model::{CredentialFormat, CredentialSummary};
use super::status;
use crate::db::schema::credentials;
use crate::db::types::{Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub(super) struct CredentialRow {
    pub(super) id: CredentialId,
    pub(super) person_id: Option<PersonId>,
    pub(super) status_list: i32,
    pub(super) status_index: i32,
    pub(super) summary: Json,
    pub(super) created_at: Timestamp,
    pub(super) expires_at: Timestamp,
    pub(super) revoked_at: Option<Timestamp>,
    /// The key that signed it; `None` for credentials issued before keys were recorded.
    pub(super) kid: Option<String>,
    /// What an Open Badges credential is of.
    pub(super) record_id: Option<RecordId>,
    pub(super) attainment_id: Option<AttainmentId>,
}

impl CredentialRow {
    pub(super) fn summary(&self) -> CredentialSummary {
        CredentialSummary {
            id: self.id.0,
            // Credentials from before formats were recorded are all passports.
            format: self
                .summary
                .0
                .get("format")
                .and_then(|v| v.as_str())
                .and_then(CredentialFormat::parse)
                .unwrap_or_default(),
            record_id: self.record_id.map(|id| id.0),
            attainment_id: self.attainment_id.map(|id| id.0),
            records: self
                .summary
                .0
                .get("records")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize,
            attainments: self
                .summary
                .0
                .get("attainments")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            revoked_at: self.revoked_at.map(|t| t.0),
        }
    }
}

/// How many live (neither revoked nor expired) credentials a person holds.
pub(super) fn live_count(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(credentials::table
        .filter(credentials::person_id.eq(person_id))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.gt(Timestamp::now()))
        .count()
        .get_result(conn)?)
}

/// When a credential was revoked: `None` when the service never issued it.
pub(super) fn revocation(
    conn: &mut DbConnection,
    id: CredentialId,
) -> Result<Option<Option<Timestamp>>, Error> {
    Ok(credentials::table
        .find(id)
        .select(credentials::revoked_at)
        .first(conn)
        .optional()?)
}

/// What a new credential is: its owner, summary, validity, signing key and (for a badge) the
/// item it is of.
pub(super) struct NewCredential<'a> {
    pub(super) person_id: PersonId,
    pub(super) summary: Json,
    pub(super) now: Timestamp,
    pub(super) expires_at: Timestamp,
    pub(super) kid: &'a str,
    pub(super) record_id: Option<RecordId>,
    pub(super) attainment_id: Option<AttainmentId>,
}

/// Stores a credential's row in a free slot of the current status list. Two instances may pick
/// the same slot at once: the unique slot decides, and the loser picks again.
pub(super) fn store_with_free_slot(
    conn: &mut DbConnection,
    new: NewCredential<'_>,
) -> Result<CredentialRow, Error> {
    let mut attempts = 0;
    loop {
        let (status_list, status_index) = status::free_slot(conn)?;
        let row = CredentialRow {
            id: CredentialId::new(),
            person_id: Some(new.person_id),
            status_list,
            status_index,
            summary: new.summary.clone(),
            created_at: new.now,
            expires_at: new.expires_at,
            revoked_at: None,
            kid: Some(new.kid.to_owned()),
            record_id: new.record_id,
            attainment_id: new.attainment_id,
        };
        match transaction(conn, |conn| {
            diesel::insert_into(credentials::table)
                .values(&row)
                .execute(conn)
                .map_err(Error::from)
        }) {
            Ok(_) => return Ok(row),
            Err(Error::Conflict(_)) if attempts < 5 => attempts += 1,
            Err(other) => return Err(other),
        }
    }
}

/// The person's credentials, newest first (summaries: the content lives only in the JWT).
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    page: Page<CredentialId>,
) -> Result<List<CredentialSummary>, Error> {
    let mut query = credentials::table
        .filter(credentials::person_id.eq(person_id))
        .order(credentials::id.desc())
        .select(CredentialRow::as_select())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(credentials::id.lt(after));
    }
    let rows: Vec<CredentialRow> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |row| row.id).map(|row| row.summary()))
}

/// One of the person's credentials (its summary: the content lives only in the JWT).
pub fn get(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: CredentialId,
) -> Result<CredentialSummary, Error> {
    credentials::table
        .filter(credentials::id.eq(id))
        .filter(credentials::person_id.eq(person_id))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| row.summary())
        .ok_or_else(|| Error::NotFound("no such credential of yours".into()))
}

/// Revokes one of the person's credentials: verification reports it from now on.
pub fn revoke(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: CredentialId,
) -> Result<CredentialSummary, Error> {
    transaction(conn, |conn| {
        let row: CredentialRow = credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::person_id.eq(person_id))
            .select(CredentialRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound("no such credential of yours".into()))?;
        if row.revoked_at.is_none() {
            diesel::update(credentials::table.find(id))
                .set(credentials::revoked_at.eq(Some(Timestamp::now())))
                .execute(conn)?;
        }
        let row: CredentialRow = credentials::table
            .find(id)
            .select(CredentialRow::as_select())
            .first(conn)?;
        Ok(row.summary())
    })
}

/// Revokes the badges of a record its issuer voided: a badge in the organisation's name does
/// not outlive the organisation's withdrawal of what it attests.
pub fn revoke_badges_of_record(
    conn: &mut DbConnection,
    record_id: RecordId,
) -> Result<usize, Error> {
    Ok(diesel::update(
        credentials::table
            .filter(credentials::record_id.eq(record_id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(Some(Timestamp::now())))
    .execute(conn)?)
}

/// Revokes every live credential of a person, and forgets what each badge was of (on erasure:
/// the rows stay, without the person, so that revocations are still published).
pub fn revoke_all(conn: &mut DbConnection, person_id: PersonId) -> Result<usize, Error> {
    let revoked = diesel::update(
        credentials::table
            .filter(credentials::person_id.eq(person_id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(Some(Timestamp::now())))
    .execute(conn)?;
    diesel::update(credentials::table.filter(credentials::person_id.eq(person_id)))
        .set((
            credentials::record_id.eq(None::<RecordId>),
            credentials::attainment_id.eq(None::<AttainmentId>),
        ))
        .execute(conn)?;
    Ok(revoked)
}

/// The credentials a key signed that still verify (neither expired nor revoked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedBy {
    /// How many it signed.
    pub count: i64,
    /// How many were issued before the signing key was recorded: any key may have signed them.
    pub unrecorded: i64,
    /// When the last of them expires.
    pub last_expiry: Option<Timestamp>,
}

/// What a key signed that still verifies, so that it is not retired unawares.
pub fn signed_by(conn: &mut DbConnection, kid: &str) -> Result<SignedBy, Error> {
    let valid = || {
        credentials::table
            .filter(credentials::revoked_at.is_null())
            .filter(credentials::expires_at.gt(Timestamp::now()))
    };
    let count: i64 = valid()
        .filter(credentials::kid.eq(kid))
        .count()
        .get_result(conn)?;
    let unrecorded: i64 = valid()
        .filter(credentials::kid.is_null())
        .count()
        .get_result(conn)?;
    let last_expiry: Option<Timestamp> = valid()
        .filter(credentials::kid.eq(kid).or(credentials::kid.is_null()))
        .order(credentials::expires_at.desc())
        .select(credentials::expires_at)
        .first(conn)
        .optional()?;
    Ok(SignedBy {
        count,
        unrecorded,
        last_expiry,
    })
}
