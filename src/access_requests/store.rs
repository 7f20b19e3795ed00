//! The `access_requests` and `blocked_organisations` tables: every query on them, and the rules
//! that make a request pending and visible to a person.

use diesel::prelude::*;

use super::model::*;
use super::terms;
use crate::db::DbConnection;
use crate::db::ids::{AccessRequestId, GrantId, OrganisationId, PersonId, ProfileId};
use crate::db::schema::{access_requests, blocked_organisations, organisations};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::grants::{GrantScope, Permission, RecordScope, RecordSelection};
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_requests)]
#[diesel(treat_none_as_default_value = false)]
pub struct AccessRequestRow {
    pub id: AccessRequestId,
    pub organisation_id: OrganisationId,
    pub client_id: String,
    pub addressee: String,
    pub person_id: Option<PersonId>,
    pub permission: String,
    pub scope: Json,
    pub requirement_profile_id: Option<ProfileId>,
    pub purpose: String,
    pub message: Option<String>,
    pub duration_days: i32,
    pub status: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub grant_id: Option<GrantId>,
    pub expiry_told: bool,
}

impl AccessRequestRow {
    pub fn permission(&self) -> Permission {
        Permission::parse(&self.permission)
    }

    pub fn scope(&self) -> GrantScope {
        self.scope.parse().unwrap_or(GrantScope {
            records: RecordScope::Selected(RecordSelection::default()),
            attainments: false,
        })
    }

    pub fn status(&self, now: Timestamp) -> AccessRequestStatus {
        match AccessRequestStatus::parse(&self.status) {
            AccessRequestStatus::Pending if self.expires_at <= now => AccessRequestStatus::Expired,
            status => status,
        }
    }

    /// As the organisation that made it sees it.
    pub fn for_organisation(&self) -> AccessRequest {
        let status = self.status(Timestamp::now());
        let approved = status == AccessRequestStatus::Approved;
        AccessRequest {
            id: self.id.0,
            status,
            addressee: terms::addressee_of(&self.addressee),
            client_id: self.client_id.clone(),
            permission: self.permission(),
            scope: self.scope(),
            requirement_profile_id: self.requirement_profile_id.map(|p| p.0),
            purpose: self.purpose.clone(),
            duration_days: i64::from(self.duration_days),
            message: self.message.clone(),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            answered_at: self.answered_at.map(|t| t.0),
            grant_id: self.grant_id.filter(|_| approved).map(|g| g.0),
            // Only an approval tells the organisation who the addressee is.
            person_id: self.person_id.filter(|_| approved).map(|p| p.0),
        }
    }

    /// As the person asked sees it.
    pub fn for_person(&self, organisation_name: String) -> IncomingAccessRequest {
        IncomingAccessRequest {
            id: self.id.0,
            status: self.status(Timestamp::now()),
            organisation_id: self.organisation_id.0,
            organisation_name,
            permission: self.permission(),
            scope: self.scope(),
            purpose: self.purpose.clone(),
            duration_days: i64::from(self.duration_days),
            message: self.message.clone(),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            answered_at: self.answered_at.map(|t| t.0),
            grant_id: self.grant_id.map(|g| g.0),
        }
    }
}

type Boxed<'a> = access_requests::BoxedQuery<'a, crate::db::MultiBackend>;

/// Narrows a query to requests in a state, as [`AccessRequestRow::status`] reads it.
fn in_status(query: Boxed<'_>, status: AccessRequestStatus, now: Timestamp) -> Boxed<'_> {
    match status {
        AccessRequestStatus::Pending => query
            .filter(access_requests::status.eq("pending"))
            .filter(access_requests::expires_at.gt(now)),
        AccessRequestStatus::Expired => query.filter(
            access_requests::status
                .eq("expired")
                .or(access_requests::status
                    .eq("pending")
                    .and(access_requests::expires_at.le(now))),
        ),
        other => query.filter(access_requests::status.eq(other.as_str())),
    }
}

pub(super) fn insert(conn: &mut DbConnection, row: &AccessRequestRow) -> Result<(), Error> {
    diesel::insert_into(access_requests::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many requests the organisation has made since a moment.
pub(super) fn made_since(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<i64, Error> {
    Ok(access_requests::table
        .filter(access_requests::organisation_id.eq(organisation_id))
        .filter(access_requests::id.ge(AccessRequestId::first_at(since)))
        .count()
        .get_result(conn)?)
}

/// The pending requests to an addressee: answers how many there are, and whether one of them
/// is the organisation's.
pub(super) fn pending_to(
    conn: &mut DbConnection,
    addressee: &str,
    organisation_id: OrganisationId,
) -> Result<(i64, bool), Error> {
    let from: Vec<OrganisationId> = in_status(
        access_requests::table
            .filter(access_requests::addressee.eq(addressee))
            .into_boxed(),
        AccessRequestStatus::Pending,
        Timestamp::now(),
    )
    .select(access_requests::organisation_id)
    .load(conn)?;
    Ok((from.len() as i64, from.contains(&organisation_id)))
}

/// The organisation's requests, newest first.
pub fn list_for_organisation(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    filter: &AccessRequestFilter,
    page: Page<AccessRequestId>,
) -> Result<List<AccessRequest>, Error> {
    let mut query = access_requests::table
        .filter(access_requests::organisation_id.eq(organisation_id))
        .order(access_requests::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(status) = filter.status {
        query = in_status(query, status, Timestamp::now());
    }
    if let Some(after) = page.after {
        query = query.filter(access_requests::id.lt(after));
    }
    let rows: Vec<AccessRequestRow> = query.select(AccessRequestRow::as_select()).load(conn)?;
    Ok(List::from_rows(rows, &page, |row| row.id).map(|row| row.for_organisation()))
}

/// One of the organisation's requests.
pub fn get_for_organisation(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: AccessRequestId,
) -> Result<AccessRequestRow, Error> {
    access_requests::table
        .find(id)
        .filter(access_requests::organisation_id.eq(organisation_id))
        .select(AccessRequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such access request of your organisation's".into()))
}

/// The requests made to a person: those pinned to them, and those to an addressee key of
/// theirs that named nobody when made (they signed up, or their email was vouched for, since).
fn addressed_to<'a>(person_id: PersonId, keys: &'a [String]) -> Boxed<'a> {
    access_requests::table
        .filter(
            access_requests::person_id
                .eq(person_id)
                .or(access_requests::person_id
                    .is_null()
                    .and(access_requests::addressee.eq_any(keys))),
        )
        .into_boxed()
}

/// The requests a person sees: those made to them, never from an organisation they have
/// blocked.
fn visible_to<'a>(person_id: PersonId, keys: &'a [String]) -> Boxed<'a> {
    let blocked = blocked_organisations::table
        .filter(blocked_organisations::person_id.eq(person_id))
        .select(blocked_organisations::organisation_id);
    addressed_to(person_id, keys).filter(access_requests::organisation_id.ne_all(blocked))
}

/// The person's requests, newest first, with each organisation's name; with `blocked_too`,
/// those from organisations they have blocked as well (for their export).
pub fn list_for_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    keys: &[String],
    (filter, blocked_too): (&IncomingFilter, bool),
    page: Page<AccessRequestId>,
) -> Result<List<IncomingAccessRequest>, Error> {
    let query = if blocked_too {
        addressed_to(person_id, keys)
    } else {
        visible_to(person_id, keys)
    };
    let mut query = query
        .order(access_requests::id.desc())
        .limit(page.limit + 1);
    if let Some(status) = filter.status {
        query = in_status(query, status, Timestamp::now());
    }
    if let Some(after) = page.after {
        query = query.filter(access_requests::id.lt(after));
    }
    let rows: Vec<AccessRequestRow> = query.select(AccessRequestRow::as_select()).load(conn)?;
    let names = organisation_names(conn, rows.iter().map(|r| r.organisation_id))?;
    Ok(List::from_rows(rows, &page, |row| row.id).map(|row| {
        let name = names
            .iter()
            .find(|(id, _)| *id == row.organisation_id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        row.for_person(name)
    }))
}

/// One request the person sees, with its organisation's name.
pub fn get_for_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    keys: &[String],
    id: AccessRequestId,
) -> Result<(AccessRequestRow, String), Error> {
    let row = visible_to(person_id, keys)
        .filter(access_requests::id.eq(id))
        .select(AccessRequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such access request to you".into()))?;
    let name = organisation_names(conn, [row.organisation_id])?
        .pop()
        .map(|(_, name)| name)
        .unwrap_or_default();
    Ok((row, name))
}

fn organisation_names(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = OrganisationId>,
) -> Result<Vec<(OrganisationId, String)>, Error> {
    let mut ids: Vec<OrganisationId> = ids.into_iter().collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organisations::table
        .filter(organisations::id.eq_any(&ids))
        .select((organisations::id, organisations::name))
        .load(conn)?)
}

/// Moves a pending, unexpired request to `status` on the person's answer; answers whether this
/// call did, so that of two answers at once exactly one counts.
pub(super) fn answer(
    conn: &mut DbConnection,
    id: AccessRequestId,
    person_id: PersonId,
    status: AccessRequestStatus,
) -> Result<bool, Error> {
    let now = Timestamp::now();
    let answered = diesel::update(
        access_requests::table
            .find(id)
            .filter(access_requests::status.eq("pending"))
            .filter(access_requests::expires_at.gt(now)),
    )
    .set((
        access_requests::status.eq(status.as_str()),
        access_requests::answered_at.eq(now),
        access_requests::person_id.eq(person_id),
    ))
    .execute(conn)?;
    Ok(answered == 1)
}

/// Links an approved request to the grant it became.
pub(super) fn link_grant(
    conn: &mut DbConnection,
    id: AccessRequestId,
    grant_id: GrantId,
) -> Result<(), Error> {
    diesel::update(access_requests::table.find(id))
        .set(access_requests::grant_id.eq(grant_id))
        .execute(conn)?;
    Ok(())
}

/// Withdraws one of the organisation's pending requests; answers whether this call did.
pub(super) fn cancel(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: AccessRequestId,
) -> Result<bool, Error> {
    let now = Timestamp::now();
    let cancelled = diesel::update(
        access_requests::table
            .find(id)
            .filter(access_requests::organisation_id.eq(organisation_id))
            .filter(access_requests::status.eq("pending"))
            .filter(access_requests::expires_at.gt(now)),
    )
    .set((
        access_requests::status.eq("cancelled"),
        access_requests::answered_at.eq(now),
    ))
    .execute(conn)?;
    Ok(cancelled == 1)
}

/// The pending requests an organisation has made that the person sees.
pub(super) fn pending_from(
    conn: &mut DbConnection,
    person_id: PersonId,
    keys: &[String],
    organisation_id: OrganisationId,
) -> Result<Vec<AccessRequestRow>, Error> {
    Ok(in_status(
        visible_to(person_id, keys).filter(access_requests::organisation_id.eq(organisation_id)),
        AccessRequestStatus::Pending,
        Timestamp::now(),
    )
    .select(AccessRequestRow::as_select())
    .load(conn)?)
}

/// Requests past their expiry still marked pending (the sweep marks them `expired`), oldest
/// first.
pub(super) fn expired_untold(
    conn: &mut DbConnection,
    limit: i64,
) -> Result<Vec<AccessRequestRow>, Error> {
    Ok(access_requests::table
        .filter(access_requests::status.eq("pending"))
        .filter(access_requests::expires_at.le(Timestamp::now()))
        .order(access_requests::expires_at.asc())
        .limit(limit)
        .select(AccessRequestRow::as_select())
        .load(conn)?)
}

/// Marks a request past its expiry `expired` (and told), so that later sweeps and the pending
/// counts pass over it; answers whether this call did, so that several sweeps at once tell
/// each expiry once.
pub(super) fn claim_expiry(conn: &mut DbConnection, id: AccessRequestId) -> Result<bool, Error> {
    Ok(diesel::update(
        access_requests::table
            .find(id)
            .filter(access_requests::status.eq("pending"))
            .filter(access_requests::expires_at.le(Timestamp::now())),
    )
    .set((
        access_requests::status.eq("expired"),
        access_requests::expiry_told.eq(true),
    ))
    .execute(conn)?
        == 1)
}

/// Takes a lock for the rest of the transaction, by name: on PostgreSQL an advisory lock; on
/// SQLite the transaction already holds the one writer lock.
pub(super) fn lock(conn: &mut DbConnection, name: &str) -> Result<(), Error> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(name)
            .execute(c)?;
    }
    Ok(())
}

/// Erases the addressee, message and purpose of the requests made to the person: those
/// pinned to them, and those to `keys` (their passport id, and an email or registration nobody
/// else answers to) that named nobody. Their blocks go with them, by cascade.
pub(super) fn erase_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    keys: &[String],
) -> Result<(), Error> {
    diesel::update(
        access_requests::table.filter(
            access_requests::person_id
                .eq(person_id)
                .or(access_requests::person_id
                    .is_null()
                    .and(access_requests::addressee.eq_any(keys))),
        ),
    )
    .set((
        access_requests::addressee.eq("erased"),
        access_requests::person_id.eq(None::<PersonId>),
        access_requests::message.eq(None::<String>),
        access_requests::purpose.eq("erased"),
    ))
    .execute(conn)?;
    Ok(())
}

/// Whether the person has blocked the organisation.
pub(super) fn is_blocked(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
) -> Result<bool, Error> {
    Ok(diesel::select(diesel::dsl::exists(
        blocked_organisations::table
            .filter(blocked_organisations::person_id.eq(person_id))
            .filter(blocked_organisations::organisation_id.eq(organisation_id)),
    ))
    .get_result(conn)?)
}

/// Blocks an organisation; blocking it again changes nothing.
pub(super) fn block(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
) -> Result<(), Error> {
    if is_blocked(conn, person_id, organisation_id)? {
        return Ok(());
    }
    // In a transaction of its own (a savepoint within the caller's), so that losing to a block
    // made at the same moment leaves the caller's transaction usable.
    let inserted = crate::db::transaction(conn, |conn| {
        diesel::insert_into(blocked_organisations::table)
            .values((
                blocked_organisations::person_id.eq(person_id),
                blocked_organisations::organisation_id.eq(organisation_id),
                blocked_organisations::created_at.eq(Timestamp::now()),
            ))
            .execute(conn)
            .map_err(Error::from)
    });
    match inserted {
        Ok(_) | Err(Error::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Unblocks an organisation; answers whether it was blocked.
pub(super) fn unblock(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
) -> Result<bool, Error> {
    Ok(diesel::delete(
        blocked_organisations::table
            .filter(blocked_organisations::person_id.eq(person_id))
            .filter(blocked_organisations::organisation_id.eq(organisation_id)),
    )
    .execute(conn)?
        == 1)
}

/// The organisations the person has blocked, most recent first.
pub fn blocked(
    conn: &mut DbConnection,
    person_id: PersonId,
) -> Result<Vec<BlockedOrganisation>, Error> {
    let rows: Vec<(OrganisationId, String, Timestamp)> = blocked_organisations::table
        .inner_join(organisations::table)
        .filter(blocked_organisations::person_id.eq(person_id))
        .order(blocked_organisations::created_at.desc())
        .select((
            blocked_organisations::organisation_id,
            organisations::name,
            blocked_organisations::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, at)| BlockedOrganisation {
            organisation_id: id.0,
            organisation_name: name,
            blocked_at: at.0,
        })
        .collect())
}
