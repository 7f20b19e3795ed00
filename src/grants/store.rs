//! The `grants` table: every query on it, and the one rule that makes a grant live.

use crate::db::ids::{GrantId, OrganisationId, PersonId};
use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::model::*;
use crate::db::DbConnection;
use crate::db::schema::{grants, organisations, people};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: GrantId,
    pub person_id: PersonId,
    pub organisation_id: OrganisationId,
    pub permission: String,
    pub scope: Json,
    pub purpose: String,
    pub version: i32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl GrantRow {
    pub fn permission(&self) -> Permission {
        Permission::parse(&self.permission)
    }

    pub fn scope(&self) -> GrantScope {
        self.scope.parse().unwrap_or(GrantScope {
            records: RecordScope::Selected(RecordSelection::default()),
            attainments: false,
        })
    }

    pub fn status(&self, now: Timestamp) -> GrantStatus {
        match (self.revoked_at, self.expires_at <= now) {
            (Some(_), _) => GrantStatus::Revoked,
            (None, true) => GrantStatus::Expired,
            (None, false) => GrantStatus::Live,
        }
    }

    pub(super) fn view(&self, organisation_name: String) -> Grant {
        Grant {
            id: self.id.0,
            organisation_id: self.organisation_id.0,
            organisation_name,
            permission: self.permission(),
            scope: self.scope(),
            purpose: self.purpose.clone(),
            status: self.status(Timestamp::now()),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            revoked_at: self.revoked_at.map(|t| t.0),
        }
    }
}

impl GrantRow {
    fn received(&self, person_display_name: Option<String>) -> ReceivedGrant {
        ReceivedGrant {
            id: self.id.0,
            person_id: self.person_id.0,
            person_display_name,
            permission: self.permission(),
            scope: self.scope(),
            purpose: self.purpose.clone(),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
        }
    }
}

type IsLive = diesel::dsl::And<
    diesel::dsl::IsNull<grants::revoked_at>,
    diesel::dsl::Gt<grants::expires_at, Timestamp>,
>;

/// The rule that makes a grant live: not revoked and not yet expired. Every question about what
/// an organisation may do now is answered through it.
fn is_live(now: Timestamp) -> IsLive {
    grants::revoked_at.is_null().and(grants::expires_at.gt(now))
}

pub(super) fn insert(conn: &mut DbConnection, row: &GrantRow) -> Result<(), Error> {
    diesel::insert_into(grants::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many live grants a person has.
pub(super) fn live_count(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(is_live(Timestamp::now()))
        .count()
        .get_result(conn)?)
}

/// The owner's grants, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    filter: &GrantFilter,
    page: Page<GrantId>,
) -> Result<List<Grant>, Error> {
    let now = Timestamp::now();
    let mut query = grants::table
        .inner_join(organisations::table)
        .filter(grants::person_id.eq(person_id))
        .select((GrantRow::as_select(), organisations::name))
        .order(grants::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    match filter.status {
        Some(GrantStatus::Live) => query = query.filter(is_live(now)),
        Some(GrantStatus::Expired) => {
            query = query
                .filter(grants::revoked_at.is_null())
                .filter(grants::expires_at.le(now))
        }
        Some(GrantStatus::Revoked) => query = query.filter(grants::revoked_at.is_not_null()),
        None => {}
    }
    if let Some(organisation) = filter.organisation_id {
        query = query.filter(grants::organisation_id.eq(OrganisationId(organisation)));
    }
    if let Some(after) = page.after {
        query = query.filter(grants::id.lt(after));
    }
    let rows: Vec<(GrantRow, String)> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |(row, _)| row.id).map(|(row, name)| row.view(name)))
}

/// One of the owner's grants.
pub fn get(conn: &mut DbConnection, person_id: PersonId, id: GrantId) -> Result<Grant, Error> {
    let (row, name): (GrantRow, String) = grants::table
        .inner_join(organisations::table)
        .filter(grants::id.eq(id))
        .filter(grants::person_id.eq(person_id))
        .select((GrantRow::as_select(), organisations::name))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such grant".into()))?;
    Ok(row.view(name))
}

/// Marks a grant revoked unless it already is; answers the revoked row, or `None` when there
/// was nothing to revoke.
pub(super) fn mark_revoked(
    conn: &mut DbConnection,
    id: GrantId,
) -> Result<Option<GrantRow>, Error> {
    let revoked = diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
        .set((
            grants::revoked_at.eq(Timestamp::now()),
            grants::version.eq(grants::version + 1),
            // A revoked grant is owed no expiry notice.
            grants::expiry_notice.eq("closed"),
        ))
        .execute(conn)?;
    if revoked == 0 {
        return Ok(None);
    }
    Ok(Some(find(conn, id)?))
}

/// One grant, whoever made it.
pub fn find(conn: &mut DbConnection, id: GrantId) -> Result<GrantRow, Error> {
    grants::table
        .find(id)
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such grant".into()))
}

/// The live grants a person has made to an organisation with a permission, newest first: one
/// query on the (organisation, person) index. The few rows are sorted here: an `ORDER BY id`
/// would lead SQLite to walk every grant made to the organisation instead.
pub fn live(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
    permission: Permission,
) -> Result<Vec<GrantRow>, Error> {
    // A query of its own rather than `live_among` for one person: a fixed shape is prepared
    // once per connection, an `IN` list on every call. Organisations' reads use `live_while`,
    // which also checks their client.
    let mut rows: Vec<GrantRow> = grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::person_id.eq(person_id))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(is_live(Timestamp::now()))
        .select(GrantRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|row| std::cmp::Reverse(row.id));
    Ok(rows)
}

/// [`live`], and only while `client` holds: one query. An organisation's read checks that its
/// client is still active in the same statement as its grants; no rows can mean either, and
/// only a refusal needs to know which.
pub fn live_while(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
    permission: Permission,
    client: crate::organisations::store::ActiveClient<'_>,
) -> Result<Vec<GrantRow>, Error> {
    let now = Timestamp::now();
    // On the backend's own connection: on every organisation's read (see `db::on_backend`).
    let mut rows: Vec<GrantRow> = crate::on_backend!(conn, |c| grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::person_id.eq(person_id))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(is_live(now))
        .filter(client)
        .select(GrantRow::as_select())
        .load(c))?;
    rows.sort_by_key(|row| std::cmp::Reverse(row.id));
    Ok(rows)
}

/// The live grants these people have made to an organisation with a permission: one query.
pub fn live_among(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    people: &[PersonId],
    permission: Permission,
) -> Result<Vec<GrantRow>, Error> {
    Ok(grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::person_id.eq_any(people))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(is_live(Timestamp::now()))
        .select(GrantRow::as_select())
        .load(conn)?)
}

/// A person's live grants with a permission, by organisation.
pub fn live_by_organisation(
    conn: &mut DbConnection,
    person_id: PersonId,
    permission: Permission,
) -> Result<BTreeMap<OrganisationId, Vec<GrantRow>>, Error> {
    let rows: Vec<GrantRow> = grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(is_live(Timestamp::now()))
        .select(GrantRow::as_select())
        .load(conn)?;
    let mut by_organisation: BTreeMap<OrganisationId, Vec<GrantRow>> = BTreeMap::new();
    for row in rows {
        by_organisation
            .entry(row.organisation_id)
            .or_default()
            .push(row);
    }
    Ok(by_organisation)
}

/// The people among `people` who hold a live write grant to the organisation, with one such
/// grant each: one query.
pub fn writers_among(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    people: &[PersonId],
) -> Result<HashMap<PersonId, GrantId>, Error> {
    Ok(
        live_among(conn, organisation_id, people, Permission::Write)?
            .into_iter()
            .map(|row| (row.person_id, row.id))
            .collect(),
    )
}

/// A page of the people who have a live grant with a permission to an organisation, in id
/// order: one query.
pub fn people_granting(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    permission: Permission,
    page: Page<PersonId>,
) -> Result<List<PersonId>, Error> {
    let mut query = grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(is_live(Timestamp::now()))
        .select(grants::person_id)
        .distinct()
        .order(grants::person_id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(grants::person_id.gt(after));
    }
    let ids: Vec<PersonId> = query.load(conn)?;
    Ok(List::from_rows(ids, &page, |id| *id))
}

/// Every organisation a person ever made a grant to, live or not.
pub fn organisations_ever(
    conn: &mut DbConnection,
    person_id: PersonId,
) -> Result<Vec<OrganisationId>, Error> {
    let mut organisations: Vec<OrganisationId> = grants::table
        .filter(grants::person_id.eq(person_id))
        .select(grants::organisation_id)
        .distinct()
        .load(conn)?;
    organisations.sort();
    Ok(organisations)
}

/// The live grants made to an organisation, newest first, with each person's display name.
pub fn received(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    filter: &ReceivedGrantFilter,
    page: Page<GrantId>,
) -> Result<List<ReceivedGrant>, Error> {
    let mut query = grants::table
        .inner_join(people::table)
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(is_live(Timestamp::now()))
        .select((GrantRow::as_select(), people::display_name))
        .order(grants::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(permission) = filter.permission {
        query = query.filter(grants::permission.eq(permission.as_str()));
    }
    if let Some(after) = page.after {
        query = query.filter(grants::id.lt(after));
    }
    let rows: Vec<(GrantRow, Option<String>)> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |(row, _)| row.id).map(|(row, name)| row.received(name)))
}

/// One grant made to an organisation, as it sees it.
pub fn received_one(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: GrantId,
) -> Result<ReceivedGrant, Error> {
    let (row, name): (GrantRow, Option<String>) = grants::table
        .inner_join(people::table)
        .filter(grants::id.eq(id))
        .filter(grants::organisation_id.eq(organisation_id))
        .select((GrantRow::as_select(), people::display_name))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such grant".into()))?;
    Ok(row.received(name))
}

/// Grants not revoked whose expiry notice is in one of `notices` and whose expiry falls in
/// `(after, until]`: a batch of at most `limit`.
pub(super) fn owed_notice(
    conn: &mut DbConnection,
    notices: &[&str],
    after: Option<Timestamp>,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<GrantRow>, Error> {
    let mut query = grants::table
        .filter(grants::expiry_notice.eq_any(notices))
        .filter(grants::expires_at.le(until))
        .filter(grants::revoked_at.is_null())
        .select(GrantRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(grants::expires_at.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Moves a grant's expiry notice from one of `from` to `to`; answers whether this call did,
/// so that several instances sweeping at once send each notice once.
pub(super) fn claim_notice(
    conn: &mut DbConnection,
    grant_id: GrantId,
    from: &[&str],
    to: &str,
) -> Result<bool, Error> {
    let updated = diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::expiry_notice.eq_any(from)),
    )
    .set(grants::expiry_notice.eq(to))
    .execute(conn)?;
    Ok(updated == 1)
}
