//! Organisations (employers, learning platforms) and their API clients.

pub mod handlers;
pub mod model;
pub mod store;

pub use model::*;
pub use store::{
    ActiveClient, Organisation, StoredClient, active_client, client_is_active, clients_of, create,
    create_client, get, revoke_client, search, stored_client,
};

use crate::auth::{OrgCaller, Scope, Scopes};
use crate::db::ids::OrganisationId;
use crate::error::{Error, FieldError};

/// Who may administer an organisation's clients: the host's administrator (`admin`) any
/// organisation's, an organisation's own administrator (`clients:manage`) its own only.
pub fn may_administer(caller: &OrgCaller, organisation_id: OrganisationId) -> Result<(), Error> {
    if caller.scopes.contains(Scope::Admin) {
        return Ok(());
    }
    if !caller.scopes.contains(Scope::ClientsManage) {
        return Err(Error::Forbidden(
            "this needs the `clients:manage` scope (your organisation's clients) or `admin`".into(),
        ));
    }
    if caller.organisation_id != organisation_id {
        return Err(Error::Forbidden(
            "`clients:manage` administers your own organisation's clients only".into(),
        ));
    }
    Ok(())
}

/// The scopes a new client may be given by this caller: any by the host's administrator; by
/// an organisation's own administrator, only scopes it holds itself, and never `admin`.
pub fn may_give(caller: &OrgCaller, scopes: &Scopes) -> Result<(), Error> {
    if caller.scopes.contains(Scope::Admin) {
        return Ok(());
    }
    let beyond: Vec<&str> = scopes
        .iter()
        .filter(|s| *s == Scope::Admin || !caller.scopes.contains(*s))
        .map(|s| s.as_str())
        .collect();
    if beyond.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            "scopes",
            format!(
                "you may give only scopes your own client holds, never `admin`: {} refused",
                beyond.join(", ")
            ),
        ))
    }
}

/// A validated organisation name and ODS code.
pub fn validate(name: &str, ods_code: Option<&str>) -> Result<(String, Option<String>), Error> {
    let mut errors = Vec::new();
    // The length as sent, as the documented maxLength says.
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
    let name = name.trim();
    let ods = ods_code
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    if let Some(code) = &ods
        && (code.len() > 12 || !code.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        errors.push(FieldError::new(
            "ods_code",
            "must be 1 to 12 letters and digits",
        ));
    }
    if errors.is_empty() {
        Ok((name.to_owned(), ods))
    } else {
        Err(Error::Validation(errors))
    }
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
