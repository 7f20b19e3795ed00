//! The `people` table: who signs in, and their profile.

use crate::db::ids::PersonId;
use diesel::prelude::*;

use crate::auth::tokens::PersonIdentity;
use crate::db::DbConnection;
use crate::db::schema::people;
use crate::db::types::Timestamp;
use crate::error::Error;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = people)]
pub struct PersonRow {
    pub id: PersonId,
    pub issuer: String,
    pub subject: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// The email came from the identity provider, which vouched for it; an email the person
    /// typed in is not verified.
    pub email_verified: bool,
    pub registration_body: Option<String>,
    pub registration_number: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn clean(value: Option<&str>, max: usize) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(max).collect())
}

/// The passport id of the person a token names, creating the passport on first use.
pub fn resolve(conn: &mut DbConnection, identity: &PersonIdentity) -> Result<PersonId, Error> {
    if let Some(id) = find(conn, identity)? {
        return Ok(id);
    }
    let now = Timestamp::now();
    let row = PersonRow {
        id: PersonId::new(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        display_name: clean(identity.name.as_deref(), 200),
        email: clean(identity.email.as_deref(), 320),
        email_verified: identity.email_verified,
        registration_body: None,
        registration_number: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    match diesel::insert_into(people::table)
        .values(&row)
        .execute(conn)
    {
        Ok(_) => Ok(row.id),
        // Two first requests at once: the other one created it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => find(conn, identity)?
            .ok_or_else(|| Error::Internal("person vanished after a unique violation".into())),
        Err(e) => Err(e.into()),
    }
}

fn find(conn: &mut DbConnection, identity: &PersonIdentity) -> Result<Option<PersonId>, Error> {
    Ok(people::table
        .filter(people::issuer.eq(&identity.issuer))
        .filter(people::subject.eq(&identity.subject))
        .select(people::id)
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: PersonId) -> Result<PersonRow, Error> {
    people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .map_err(Error::from)
}

/// The person's row, held until the transaction ends: a per-person cap counted after this is
/// not raced by the person's own concurrent requests.
pub fn lock(conn: &mut DbConnection, id: PersonId) -> Result<PersonRow, Error> {
    Ok(match conn {
        DbConnection::Postgres(c) => people::table
            .find(id)
            .select(PersonRow::as_select())
            .for_update()
            .first(c)?,
        // One writer at a time: the transaction began IMMEDIATE.
        DbConnection::Sqlite(c) => people::table
            .find(id)
            .select(PersonRow::as_select())
            .first(c)?,
    })
}

/// Writes a person's changed profile over the stored one if it is still at `read_version`;
/// answers how many rows were written.
pub fn write_profile(
    conn: &mut DbConnection,
    row: &PersonRow,
    read_version: i32,
) -> Result<usize, Error> {
    Ok(diesel::update(
        people::table
            .find(row.id)
            .filter(people::version.eq(read_version)),
    )
    .set((
        people::display_name.eq(&row.display_name),
        people::email.eq(&row.email),
        people::email_verified.eq(row.email_verified),
        people::registration_body.eq(&row.registration_body),
        people::registration_number.eq(&row.registration_number),
        people::version.eq(row.version),
        people::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?)
}

/// Whether a person holds a passport.
pub fn exists(conn: &mut DbConnection, id: PersonId) -> Result<bool, Error> {
    let found: i64 = people::table
        .filter(people::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// These people's display names: one query.
pub fn display_names(
    conn: &mut DbConnection,
    ids: &[PersonId],
) -> Result<std::collections::HashMap<PersonId, Option<String>>, Error> {
    Ok(people::table
        .filter(people::id.eq_any(ids))
        .select((people::id, people::display_name))
        .load::<(PersonId, Option<String>)>(conn)?
        .into_iter()
        .collect())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// The people whose verified email is one of `addresses` (lowercased), with that email.
pub fn with_verified_email(
    conn: &mut DbConnection,
    addresses: &[String],
) -> Result<Vec<(PersonId, Option<String>)>, Error> {
    Ok(people::table
        .filter(people::email_verified.eq(true))
        .filter(lower(people::email).eq_any(addresses))
        .select((people::id, people::email))
        .load(conn)?)
}

/// A registration as a person declared it: the body and the number.
pub type Declared = (Option<String>, Option<String>);

/// The registrations of the people, other than `except`, who declared a number that reads the
/// same as `number` without regard to case.
pub fn others_declaring(
    conn: &mut DbConnection,
    number: &str,
    except: PersonId,
) -> Result<Vec<Declared>, Error> {
    Ok(people::table
        .filter(lower(people::registration_number).eq(number.to_lowercase()))
        .filter(people::id.ne(except))
        .select((people::registration_body, people::registration_number))
        .load(conn)?)
}

/// Deletes a person: their records (and history), grants, attainments (and verifications)
/// go with them.
pub fn delete(conn: &mut DbConnection, id: PersonId) -> Result<(), Error> {
    diesel::delete(people::table.find(id)).execute(conn)?;
    Ok(())
}
