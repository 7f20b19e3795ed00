//! What an organisation may see of a person's records: the union of its live read grants,
//! matched against each record.

use crate::db::ids::{PersonId, RecordId};
use diesel::prelude::*;

use super::row::{RecordRow, RecordWithIssuer};
use crate::db::DbConnection;
use crate::db::schema::{organisations, records};
use crate::error::Error;
use crate::outbox::RecordFacts;

/// What an organisation may see of a person's records: the union of its live read grants.
#[derive(Debug, Clone, Default)]
pub struct SharedScope {
    pub all: bool,
    pub kinds: Vec<String>,
    pub activity_codes: Vec<String>,
    pub record_ids: Vec<RecordId>,
}

/// Whose view a query serves.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// The owner sees everything, hidden and voided records included.
    Owner,
    /// An organisation sees what its grants cover, never hidden or voided records.
    Organisation(&'a SharedScope),
}

impl SharedScope {
    /// Whether a record is visible under this scope.
    pub fn covers(&self, row: &RecordRow) -> bool {
        !row.hidden
            && row.voided_at.is_none()
            && self.selects(row.id, &row.kind, row.activity_code.as_deref())
    }

    /// Whether a record was visible under this scope when an event about it happened.
    pub fn covers_facts(&self, facts: &RecordFacts) -> bool {
        !facts.hidden
            && !facts.voided
            && self.selects(facts.id, &facts.kind, facts.activity_code.as_deref())
    }

    fn selects(&self, id: RecordId, kind: &str, activity_code: Option<&str>) -> bool {
        self.all
            || self.kinds.iter().any(|k| k == kind)
            || activity_code.is_some_and(|c| self.activity_codes.iter().any(|a| a == c))
            || self.record_ids.contains(&id)
    }
}

/// Which of these records of a person's an organisation's grants cover: one query.
pub fn covered(
    conn: &mut DbConnection,
    person_id: PersonId,
    ids: &[RecordId],
    scope: &SharedScope,
) -> Result<std::collections::HashSet<RecordId>, Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<RecordRow> = records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(ids))
        .select(RecordRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| scope.covers(row))
        .map(|row| row.id)
        .collect())
}

/// What these people show organisations (neither hidden nor voided) of these kinds or with
/// these activity codes: one query.
pub fn visible_matching(
    conn: &mut DbConnection,
    people: &[PersonId],
    kinds: &[String],
    codes: &[String],
) -> Result<Vec<RecordRow>, Error> {
    use crate::db::one_of;
    Ok(match conn {
        // One statement shape whatever the lists' lengths (see `db::OneOf`).
        DbConnection::Sqlite(c) => records::table
            .filter(one_of(
                records::person_id,
                people.iter().map(|p| p.0.hyphenated().to_string()),
            ))
            .filter(records::hidden.eq(false))
            .filter(records::voided_at.is_null())
            .filter(
                one_of(records::activity_code, codes.iter().cloned())
                    .or(one_of(records::kind, kinds.iter().cloned())),
            )
            .select(RecordRow::as_select())
            .load(c)?,
        // `= ANY($1)`: one array parameter, one shape already.
        DbConnection::Postgres(c) => records::table
            .filter(records::person_id.eq_any(people))
            .filter(shown_and_matching(kinds, codes))
            .select(RecordRow::as_select())
            .load(c)?,
    })
}

/// Shown to organisations (neither hidden nor voided), and of these kinds or with these
/// activity codes: as `= ANY` lists, one array parameter each on PostgreSQL.
#[diesel::dsl::auto_type(no_type_alias)]
fn shown_and_matching<'a>(kinds: &'a [String], codes: &'a [String]) -> _ {
    records::hidden
        .eq(false)
        .and(records::voided_at.is_null())
        .and(
            records::activity_code
                .eq_any(codes)
                .or(records::kind.eq_any(kinds).nullable()),
        )
}

/// The same for one person, with each record's issuer: at most `limit`.
pub fn visible_matching_with_issuers(
    conn: &mut DbConnection,
    person_id: PersonId,
    kinds: &[String],
    codes: &[String],
    limit: i64,
) -> Result<Vec<RecordWithIssuer>, Error> {
    Ok(records::table
        .left_join(organisations::table)
        .filter(records::person_id.eq(person_id))
        .filter(shown_and_matching(kinds, codes))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .limit(limit)
        .load(conn)?)
}

/// How many records of a person any organisation may see (neither hidden nor voided) that
/// stand as achieved: not lapsed, not failed.
pub fn achieved_count(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::hidden.eq(false))
        .filter(records::voided_at.is_null())
        .filter(
            records::expires_at
                .is_null()
                .or(records::expires_at.gt(crate::db::types::Timestamp::now())),
        )
        .filter(records::result.is_null().or(records::result.ne("failed")))
        .count()
        .get_result(conn)?)
}
