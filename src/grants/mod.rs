//! Grants: a person's consent to one organisation, checked from the database on every request.

pub mod handlers;
pub mod model;

use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

pub use model::*;

use crate::db::DbConnection;
use crate::db::schema::{grants, organisations, people, records};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::pagination::{List, Page};
use crate::webhooks::{EventType, events};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: Id,
    pub person_id: Id,
    pub organisation_id: Id,
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

    fn view(&self, organisation_name: String) -> Grant {
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

/// Filters of the owner's grant list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantFilter {
    /// Only grants in this state.
    pub status: Option<GrantStatus>,
    /// Only grants to this organisation.
    pub organisation_id: Option<uuid::Uuid>,
}

/// Filters of an organisation's list of grants made to it.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceivedGrantFilter {
    /// Only grants with this permission.
    pub permission: Option<Permission>,
}

/// The most live grants one person may have at once.
pub const MAX_LIVE_PER_PERSON: i64 = 500;

/// Records a person's consent. The organisation must exist and any record ids must be the
/// person's own.
pub fn create(
    conn: &mut DbConnection,
    person_id: Id,
    input: GrantInput,
    max_days: i64,
) -> Result<Grant, Error> {
    let mut errors = input.check(Utc::now(), max_days);
    let organisation: Option<String> = organisations::table
        .find(Id(input.organisation_id))
        .select(organisations::name)
        .first(conn)
        .optional()?;
    if organisation.is_none() {
        errors.push(FieldError::new("organisation_id", "no such organisation"));
    }
    if let RecordScope::Selected(selection) = &input.scope.records
        && !selection.record_ids.is_empty()
    {
        let ids: Vec<Id> = selection.record_ids.iter().map(|id| Id(*id)).collect();
        let own: Vec<Id> = records::table
            .filter(records::person_id.eq(person_id))
            .filter(records::id.eq_any(&ids))
            .select(records::id)
            .load(conn)?;
        for (i, id) in ids.iter().enumerate() {
            if !own.contains(id) {
                errors.push(FieldError::new(
                    format!("scope.records.record_ids[{i}]"),
                    "is not one of your records",
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let live: i64 = grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(Timestamp::now()))
        .count()
        .get_result(conn)?;
    if live >= MAX_LIVE_PER_PERSON {
        return Err(Error::Conflict(format!(
            "you have {MAX_LIVE_PER_PERSON} live grants, the most one person may: revoke one first"
        )));
    }
    let mut scope = input.scope;
    if let RecordScope::Selected(selection) = &mut scope.records {
        selection.activity_codes = selection
            .activity_codes
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
    }
    let row = GrantRow {
        id: Id::new(),
        person_id,
        organisation_id: Id(input.organisation_id),
        permission: input.permission.as_str().to_owned(),
        scope: Json::of(&scope),
        purpose: input.purpose.trim().to_owned(),
        version: 1,
        created_at: Timestamp::now(),
        expires_at: Timestamp::from(input.expires_at),
        revoked_at: None,
    };
    crate::db::transaction(conn, |conn| {
        diesel::insert_into(grants::table)
            .values(&row)
            .execute(conn)?;
        events::grant(conn, EventType::GrantCreated, &row)
    })?;
    Ok(row.view(organisation.unwrap_or_default()))
}

/// The owner's grants, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: Id,
    filter: &GrantFilter,
    page: Page,
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
        Some(GrantStatus::Live) => {
            query = query
                .filter(grants::revoked_at.is_null())
                .filter(grants::expires_at.gt(now))
        }
        Some(GrantStatus::Expired) => {
            query = query
                .filter(grants::revoked_at.is_null())
                .filter(grants::expires_at.le(now))
        }
        Some(GrantStatus::Revoked) => query = query.filter(grants::revoked_at.is_not_null()),
        None => {}
    }
    if let Some(organisation) = filter.organisation_id {
        query = query.filter(grants::organisation_id.eq(Id(organisation)));
    }
    if let Some(after) = page.after {
        query = query.filter(grants::id.lt(after));
    }
    let rows: Vec<(GrantRow, String)> = query.load(conn)?;
    Ok(List::from_rows(rows, page, |(row, _)| row.id).map(|(row, name)| row.view(name)))
}

/// One of the owner's grants.
pub fn get(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<Grant, Error> {
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

/// Revokes one of the owner's grants; effective on the organisation's very next request.
/// Revoking a grant that has already ended changes nothing.
pub fn revoke(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<Grant, Error> {
    crate::db::transaction(conn, |conn| {
        get(conn, person_id, id)?;
        let revoked = diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
            .set((
                grants::revoked_at.eq(Timestamp::now()),
                grants::version.eq(grants::version + 1),
                // A revoked grant is owed no expiry notice.
                grants::expiry_notice.eq("closed"),
            ))
            .execute(conn)?;
        if revoked == 1 {
            let row: GrantRow = grants::table
                .find(id)
                .select(GrantRow::as_select())
                .first(conn)?;
            events::grant(conn, EventType::GrantRevoked, &row)?;
        }
        get(conn, person_id, id)
    })
}

/// The live grants a person has made to an organisation with a permission, newest first: one
/// query on the (organisation, person) index. The few rows are sorted here: an `ORDER BY id`
/// would lead SQLite to walk every grant made to the organisation instead.
pub fn live(
    conn: &mut DbConnection,
    person_id: Id,
    organisation_id: Id,
    permission: Permission,
) -> Result<Vec<GrantRow>, Error> {
    Ok(grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::permission.eq(permission.as_str()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(Timestamp::now()))
        .select(GrantRow::as_select())
        .load::<GrantRow>(conn)
        .map(|mut rows| {
            rows.sort_by_key(|row| std::cmp::Reverse(row.id));
            rows
        })?)
}

/// The live grants made to an organisation, newest first, with each person's display name.
pub fn received(
    conn: &mut DbConnection,
    organisation_id: Id,
    filter: &ReceivedGrantFilter,
    page: Page,
) -> Result<List<ReceivedGrant>, Error> {
    let mut query = grants::table
        .inner_join(people::table)
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(Timestamp::now()))
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
    Ok(
        List::from_rows(rows, page, |(row, _)| row.id).map(|(row, name)| ReceivedGrant {
            id: row.id.0,
            person_id: row.person_id.0,
            person_display_name: name,
            permission: row.permission(),
            scope: row.scope(),
            purpose: row.purpose.clone(),
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
        }),
    )
}
