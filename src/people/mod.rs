//! People: the owners of passports, known by their identity provider's (issuer, subject).

pub mod handlers;
pub mod model;
pub mod rights;
pub mod store;

pub use model::{Profile, ProfilePatch, Registration};
pub use store::{PersonRow, get, resolve};

use crate::db::DbConnection;
use crate::db::ids::PersonId;
use crate::db::types::Timestamp;
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};

/// Applies a profile patch if the profile is still at a version the caller has seen.
pub fn update(
    conn: &mut DbConnection,
    id: PersonId,
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
        let rows = store::write_profile(conn, &row, read_version)?;
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
