//! People: the owners of passports, known by their identity provider's (issuer, subject).

pub mod handlers;
pub mod rights;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::tokens::PersonIdentity;
use crate::db::DbConnection;
use crate::db::schema::people;
use crate::db::types::{Id, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};
use crate::http::patch::{Patch, double_option};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = people)]
pub struct PersonRow {
    pub id: Id,
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

/// A professional registration, e.g. with the NMC or the GMC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The regulator, e.g. `NMC`, `GMC`, `HCPC`.
    #[schema(example = "NMC")]
    pub body: String,
    /// The registration number (PIN).
    #[schema(example = "12A3456E")]
    pub number: String,
}

/// A person's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// The passport's id: what a person gives an organisation so that it can find what they share.
    pub id: uuid::Uuid,
    /// The name shown to organisations the person shares with.
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub registration: Option<Registration>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&PersonRow> for Profile {
    fn from(row: &PersonRow) -> Self {
        Profile {
            id: row.id.0,
            display_name: row.display_name.clone(),
            email: row.email.clone(),
            registration: match (&row.registration_body, &row.registration_number) {
                (Some(body), Some(number)) => Some(Registration {
                    body: body.clone(),
                    number: number.clone(),
                }),
                _ => None,
            },
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// Changes to a profile (JSON merge patch: an absent field is kept, `null` clears it).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub display_name: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 320)]
    pub email: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Registration>)]
    pub registration: Patch<Registration>,
}

fn clean(value: Option<&str>, max: usize) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(max).collect())
}

/// The passport id of the person a token names, creating the passport on first use.
pub fn resolve(conn: &mut DbConnection, identity: &PersonIdentity) -> Result<Id, Error> {
    if let Some(id) = find(conn, identity)? {
        return Ok(id);
    }
    let now = Timestamp::now();
    let row = PersonRow {
        id: Id::new(),
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

fn find(conn: &mut DbConnection, identity: &PersonIdentity) -> Result<Option<Id>, Error> {
    Ok(people::table
        .filter(people::issuer.eq(&identity.issuer))
        .filter(people::subject.eq(&identity.subject))
        .select(people::id)
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: Id) -> Result<PersonRow, Error> {
    people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .map_err(Error::from)
}

/// Applies a profile patch if the profile is still at a version the caller has seen.
pub fn update(
    conn: &mut DbConnection,
    id: Id,
    patch: ProfilePatch,
    precondition: &Precondition,
) -> Result<PersonRow, Error> {
    crate::db::transaction(conn, |conn| {
        let mut row = get(conn, id)?;
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        let mut errors = Vec::new();
        if let Some(value) = patch.display_name.apply(&mut row.display_name)
            && (value.trim().is_empty() || value.chars().count() > 200)
        {
            errors.push(FieldError::new(
                "display_name",
                "must be 1 to 200 characters",
            ));
        }
        let email_before = row.email.clone();
        if let Some(value) = patch.email.apply(&mut row.email)
            && (value.len() > 320 || !is_plausible_email(value))
        {
            errors.push(FieldError::new("email", "must be an email address"));
        }
        let mut registration = match (&row.registration_body, &row.registration_number) {
            (Some(body), Some(number)) => Some(Registration {
                body: body.clone(),
                number: number.clone(),
            }),
            _ => None,
        };
        if let Some(value) = patch.registration.apply(&mut registration) {
            if value.body.trim().is_empty() || value.body.chars().count() > 100 {
                errors.push(FieldError::new(
                    "registration.body",
                    "must be 1 to 100 characters",
                ));
            }
            if value.number.trim().is_empty() || value.number.chars().count() > 50 {
                errors.push(FieldError::new(
                    "registration.number",
                    "must be 1 to 50 characters",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        row.registration_body = registration.as_ref().map(|r| r.body.trim().to_owned());
        row.registration_number = registration.as_ref().map(|r| r.number.trim().to_owned());
        row.display_name = row.display_name.map(|v| v.trim().to_owned());
        row.email = row.email.map(|v| v.trim().to_owned());
        if row.email != email_before {
            row.email_verified = false;
        }
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = diesel::update(
            people::table
                .find(id)
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
        .execute(conn)?;
        etag::written(rows)?;
        Ok(row)
    })
}

fn is_plausible_email(value: &str) -> bool {
    let value = value.trim();
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}
