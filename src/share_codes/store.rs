//! The `share_codes` table: every query on it, and the one rule that makes a code redeemable.

use diesel::prelude::*;

use super::model::*;
use crate::db::DbConnection;
use crate::db::ids::{GrantId, OrganisationId, PersonId, ShareCodeId};
use crate::db::schema::{organisations, share_codes};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::grants::{GrantScope, Permission, RecordScope, RecordSelection};
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = share_codes)]
#[diesel(treat_none_as_default_value = false)]
pub struct ShareCodeRow {
    pub id: ShareCodeId,
    pub person_id: PersonId,
    pub code_hash: String,
    pub permission: String,
    pub scope: Json,
    pub purpose: String,
    pub grant_expires_at: Timestamp,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub redeemed_at: Option<Timestamp>,
    pub organisation_id: Option<OrganisationId>,
    pub client_id: Option<String>,
    pub grant_id: Option<GrantId>,
}

impl ShareCodeRow {
    pub fn permission(&self) -> Permission {
        Permission::parse(&self.permission)
    }

    pub fn scope(&self) -> GrantScope {
        self.scope.parse().unwrap_or(GrantScope {
            records: RecordScope::Selected(RecordSelection::default()),
            attainments: false,
        })
    }

    pub fn status(&self, now: Timestamp) -> ShareCodeStatus {
        if self.redeemed_at.is_some() {
            ShareCodeStatus::Redeemed
        } else if self.revoked_at.is_some() {
            ShareCodeStatus::Revoked
        } else if self.expires_at <= now {
            ShareCodeStatus::Expired
        } else {
            ShareCodeStatus::Active
        }
    }

    pub(super) fn view(&self, organisation_name: Option<String>) -> ShareCode {
        let redemption = match (
            self.redeemed_at,
            self.organisation_id,
            &self.client_id,
            self.grant_id,
            organisation_name,
        ) {
            (Some(at), Some(organisation), Some(client), Some(grant), Some(name)) => {
                Some(Redemption {
                    organisation_id: organisation.0,
                    organisation_name: name,
                    client_id: client.clone(),
                    redeemed_at: at.0,
                    grant_id: grant.0,
                })
            }
            _ => None,
        };
        ShareCode {
            id: self.id.0,
            status: self.status(Timestamp::now()),
            permission: self.permission(),
            scope: self.scope(),
            purpose: self.purpose.clone(),
            grant_expires_at: self.grant_expires_at.0,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            revoked_at: self.revoked_at.map(|t| t.0),
            redemption,
        }
    }
}

type IsActive = diesel::dsl::And<
    diesel::dsl::And<
        diesel::dsl::IsNull<share_codes::redeemed_at>,
        diesel::dsl::IsNull<share_codes::revoked_at>,
    >,
    diesel::dsl::Gt<share_codes::expires_at, Timestamp>,
>;

/// The rule that makes a code redeemable: not redeemed, not revoked, not yet expired.
fn is_active(now: Timestamp) -> IsActive {
    share_codes::redeemed_at
        .is_null()
        .and(share_codes::revoked_at.is_null())
        .and(share_codes::expires_at.gt(now))
}

pub(super) fn insert(conn: &mut DbConnection, row: &ShareCodeRow) -> Result<(), Error> {
    diesel::insert_into(share_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many active codes a person has.
pub(super) fn active_count(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(share_codes::table
        .filter(share_codes::person_id.eq(person_id))
        .filter(is_active(Timestamp::now()))
        .count()
        .get_result(conn)?)
}

/// The owner's codes, newest first, with the name of the organisation that redeemed each.
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    page: Page<ShareCodeId>,
) -> Result<List<ShareCode>, Error> {
    let mut query = share_codes::table
        .left_join(organisations::table)
        .filter(share_codes::person_id.eq(person_id))
        .select((ShareCodeRow::as_select(), organisations::name.nullable()))
        .order(share_codes::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(share_codes::id.lt(after));
    }
    let rows: Vec<(ShareCodeRow, Option<String>)> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |(row, _)| row.id).map(|(row, name)| row.view(name)))
}

/// One of the owner's codes.
pub fn get(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: ShareCodeId,
) -> Result<ShareCode, Error> {
    let (row, name): (ShareCodeRow, Option<String>) = share_codes::table
        .left_join(organisations::table)
        .filter(share_codes::id.eq(id))
        .filter(share_codes::person_id.eq(person_id))
        .select((ShareCodeRow::as_select(), organisations::name.nullable()))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such share code".into()))?;
    Ok(row.view(name))
}

/// The active code with this digest, if there is one.
pub(super) fn active_by_digest(
    conn: &mut DbConnection,
    code_hash: &str,
) -> Result<Option<ShareCodeRow>, Error> {
    Ok(share_codes::table
        .filter(share_codes::code_hash.eq(code_hash))
        .filter(is_active(Timestamp::now()))
        .select(ShareCodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a code redeemed by a client, if it is still active; answers whether this call did.
/// Of two redeemers at once, the second finds the code no longer active: PostgreSQL re-reads
/// the row once the first commits, and SQLite runs one writer at a time.
pub(super) fn claim(
    conn: &mut DbConnection,
    id: ShareCodeId,
    organisation_id: OrganisationId,
    client_id: &str,
) -> Result<bool, Error> {
    let now = Timestamp::now();
    let claimed = diesel::update(share_codes::table.find(id).filter(is_active(now)))
        .set((
            share_codes::redeemed_at.eq(now),
            share_codes::organisation_id.eq(organisation_id),
            share_codes::client_id.eq(client_id),
        ))
        .execute(conn)?;
    Ok(claimed == 1)
}

/// Links a redeemed code to the grant it became.
pub(super) fn link_grant(
    conn: &mut DbConnection,
    id: ShareCodeId,
    grant_id: GrantId,
) -> Result<(), Error> {
    diesel::update(share_codes::table.find(id))
        .set(share_codes::grant_id.eq(grant_id))
        .execute(conn)?;
    Ok(())
}

/// Marks one of the owner's codes revoked if it is active; answers whether this call did.
pub(super) fn mark_revoked(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: ShareCodeId,
) -> Result<bool, Error> {
    let revoked = diesel::update(
        share_codes::table
            .find(id)
            .filter(share_codes::person_id.eq(person_id))
            .filter(is_active(Timestamp::now())),
    )
    .set(share_codes::revoked_at.eq(Timestamp::now()))
    .execute(conn)?;
    Ok(revoked == 1)
}
