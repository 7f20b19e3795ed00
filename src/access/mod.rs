//! The access log: every organisation request that touches a person's data, allowed or denied,
//! readable by that person and by no organisation.

pub mod handlers;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::DbConnection;
use crate::db::schema::{access_events, organisations, people};
use crate::db::types::{Id, Timestamp};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_events)]
struct AccessEventRow {
    id: Id,
    /// Empty once the person has erased their passport.
    person_id: Option<Id>,
    organisation_id: Id,
    client_id: String,
    grant_id: Option<Id>,
    action: String,
    resource: String,
    allowed: bool,
    reason: Option<String>,
    created_at: Timestamp,
}

/// One organisation request that touched the person's data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessEvent {
    pub id: uuid::Uuid,
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    /// The organisation's API client that made the request.
    pub client_id: String,
    /// The grant that allowed it, when one did.
    pub grant_id: Option<uuid::Uuid>,
    /// What was asked: `records.list`, `records.read`, `attainments.list`, …
    #[schema(example = "records.list")]
    pub action: String,
    /// What it was asked of, e.g. `records` or `records/{id}`.
    pub resource: String,
    pub allowed: bool,
    /// Why it was refused, when it was.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An access to log.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub person_id: Id,
    pub organisation_id: Id,
    pub client_id: &'a str,
    pub grant_id: Option<Id>,
    pub action: &'static str,
    pub resource: String,
    pub allowed: bool,
    pub reason: Option<String>,
}

/// Appends an event. A refused request about someone who holds no passport is not logged:
/// there is nobody to show it to.
pub fn append(conn: &mut DbConnection, access: Access<'_>) -> Result<(), Error> {
    if !access.allowed {
        let exists: i64 = people::table
            .filter(people::id.eq(access.person_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Ok(());
        }
    }
    let row = AccessEventRow {
        id: Id::new(),
        person_id: Some(access.person_id),
        organisation_id: access.organisation_id,
        client_id: access.client_id.to_owned(),
        grant_id: access.grant_id,
        action: access.action.to_owned(),
        resource: access.resource,
        allowed: access.allowed,
        reason: access.reason,
        created_at: Timestamp::now(),
    };
    diesel::insert_into(access_events::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Appends several events in one statement (one more query to check who exists, when some
/// were refused).
pub fn append_all(conn: &mut DbConnection, accesses: Vec<Access<'_>>) -> Result<(), Error> {
    let refused: Vec<Id> = accesses
        .iter()
        .filter(|a| !a.allowed)
        .map(|a| a.person_id)
        .collect();
    let known: Vec<Id> = if refused.is_empty() {
        Vec::new()
    } else {
        people::table
            .filter(people::id.eq_any(&refused))
            .select(people::id)
            .load(conn)?
    };
    let now = Timestamp::now();
    let rows: Vec<AccessEventRow> = accesses
        .into_iter()
        .filter(|a| a.allowed || known.contains(&a.person_id))
        .map(|a| AccessEventRow {
            id: Id::new(),
            person_id: Some(a.person_id),
            organisation_id: a.organisation_id,
            client_id: a.client_id.to_owned(),
            grant_id: a.grant_id,
            action: a.action.to_owned(),
            resource: a.resource,
            allowed: a.allowed,
            reason: a.reason,
            created_at: now,
        })
        .collect();
    if !rows.is_empty() {
        crate::on_backend!(conn, |c| diesel::insert_into(access_events::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// Filters of the access log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessFilter {
    /// Only accesses by this organisation.
    pub organisation_id: Option<uuid::Uuid>,
    /// Only accesses at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only accesses before this time.
    pub to: Option<DateTime<Utc>>,
}

/// A person's access log, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: Id,
    filter: &AccessFilter,
    page: Page,
) -> Result<List<AccessEvent>, Error> {
    let mut query = access_events::table
        .inner_join(organisations::table)
        .filter(access_events::person_id.eq(person_id))
        .select((AccessEventRow::as_select(), organisations::name))
        .order(access_events::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(organisation) = filter.organisation_id {
        query = query.filter(access_events::organisation_id.eq(Id(organisation)));
    }
    if let Some(from) = filter.from {
        query = query.filter(access_events::created_at.ge(Timestamp::from(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(access_events::created_at.lt(Timestamp::from(to)));
    }
    if let Some(after) = page.after {
        query = query.filter(access_events::id.lt(after));
    }
    let rows: Vec<(AccessEventRow, String)> = query.load(conn)?;
    Ok(
        List::from_rows(rows, page, |(row, _)| row.id).map(|(row, organisation_name)| {
            AccessEvent {
                id: row.id.0,
                organisation_id: row.organisation_id.0,
                organisation_name,
                client_id: row.client_id,
                grant_id: row.grant_id.map(|g| g.0),
                action: row.action,
                resource: row.resource,
                allowed: row.allowed,
                reason: row.reason,
                created_at: row.created_at.0,
            }
        }),
    )
}
