//! The `requirement_profiles` table: an organisation's profiles, checked before each write.

use crate::db::ids::{OrganisationId, ProfileId};
use diesel::prelude::*;

use super::{ProfileInput, Requirement, RequirementProfile, validate};
use crate::db::DbConnection;
use crate::db::schema::requirement_profiles;
use crate::db::types::{Json, Parsed, Timestamp};
use crate::error::Error;
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = requirement_profiles)]
struct ProfileRow {
    id: ProfileId,
    organisation_id: OrganisationId,
    name: String,
    requirements: Json,
    version: i32,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl ProfileRow {
    fn view(&self) -> Result<RequirementProfile, Error> {
        Ok(RequirementProfile {
            id: self.id.0,
            name: self.name.clone(),
            requirements: self
                .requirements
                .parse()
                .map_err(|e| Error::Internal(format!("stored profile unreadable: {e}")))?,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

pub fn create(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    input: ProfileInput,
) -> Result<RequirementProfile, Error> {
    validate(conn, &input)?;
    let now = Timestamp::now();
    let row = ProfileRow {
        id: ProfileId::new(),
        organisation_id,
        name: input.name.trim().to_owned(),
        requirements: Json::of(&input.requirements),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(requirement_profiles::table)
        .values(&row)
        .execute(conn)?;
    row.view()
}

fn row(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: ProfileId,
) -> Result<ProfileRow, Error> {
    requirement_profiles::table
        .filter(requirement_profiles::id.eq(id))
        .filter(requirement_profiles::organisation_id.eq(organisation_id))
        .select(ProfileRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// A profile as it is answered and checked against, its requirements parsed straight from
/// the stored document: read on every compliance check.
#[derive(Queryable, Selectable)]
#[diesel(table_name = requirement_profiles)]
struct StoredProfile {
    id: ProfileId,
    name: String,
    requirements: Parsed<Vec<Requirement>>,
    version: i32,
    created_at: Timestamp,
    updated_at: Timestamp,
}

pub fn get(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: ProfileId,
) -> Result<RequirementProfile, Error> {
    // On the backend's own connection: on every compliance check (see `db::on_backend`).
    let stored = crate::on_backend!(conn, |c| requirement_profiles::table
        .filter(requirement_profiles::id.eq(id))
        .filter(requirement_profiles::organisation_id.eq(organisation_id))
        .select(StoredProfile::as_select())
        .first(c)
        .optional())?
    .ok_or_else(not_found)?;
    Ok(RequirementProfile {
        id: stored.id.0,
        name: stored.name,
        requirements: stored.requirements.0,
        created_at: stored.created_at.0,
        updated_at: stored.updated_at.0,
        version: stored.version,
    })
}

fn not_found() -> Error {
    Error::NotFound("no such requirement profile of your organisation".into())
}

pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    page: Page<ProfileId>,
) -> Result<List<RequirementProfile>, Error> {
    let mut query = requirement_profiles::table
        .filter(requirement_profiles::organisation_id.eq(organisation_id))
        .select(ProfileRow::as_select())
        .order(requirement_profiles::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(requirement_profiles::id.lt(after));
    }
    let rows: Vec<ProfileRow> = query.load(conn)?;
    let list = List::from_rows(rows, &page, |r| r.id);
    Ok(List {
        items: list
            .items
            .iter()
            .map(ProfileRow::view)
            .collect::<Result<_, _>>()?,
        next_cursor: list.next_cursor,
    })
}

pub fn replace(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: ProfileId,
    input: ProfileInput,
    precondition: &Precondition,
) -> Result<RequirementProfile, Error> {
    crate::db::transaction(conn, |conn| {
        let mut row = row(conn, organisation_id, id)?;
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        validate(conn, &input)?;
        row.name = input.name.trim().to_owned();
        row.requirements = Json::of(&input.requirements);
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = diesel::update(
            requirement_profiles::table
                .find(row.id)
                .filter(requirement_profiles::version.eq(read_version)),
        )
        .set((
            requirement_profiles::name.eq(&row.name),
            requirement_profiles::requirements.eq(&row.requirements),
            requirement_profiles::version.eq(row.version),
            requirement_profiles::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        row.view()
    })
}

pub fn delete(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: ProfileId,
    precondition: &Precondition,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let row = row(conn, organisation_id, id)?;
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            requirement_profiles::table
                .find(row.id)
                .filter(requirement_profiles::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}
