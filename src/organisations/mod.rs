//! Organisations (employers, learning platforms) and their API clients.

pub mod handlers;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{OrgCaller, Scope, Scopes, secrets};
use crate::db::DbConnection;
use crate::db::schema::{clients, organisations};
use crate::db::types::{Id, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::pagination::{List, Page};

/// An organisation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: Id,
    pub name: String,
    pub ods_code: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: Id,
    organisation_id: Id,
    client_id: String,
    secret_hash: String,
    scopes: String,
    created_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

/// A new client's credentials: the only time the secret is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewCredentials {
    pub organisation_id: uuid::Uuid,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: String,
}

/// Who may administer an organisation's clients: the host's administrator (`admin`) any
/// organisation's, an organisation's own administrator (`clients:manage`) its own only.
pub fn may_administer(caller: &OrgCaller, organisation_id: Id) -> Result<(), Error> {
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

/// Creates an organisation.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    ods_code: Option<&str>,
) -> Result<Organisation, Error> {
    let (name, ods_code) = validate(name, ods_code)?;
    let organisation = Organisation {
        id: Id::new(),
        name,
        ods_code,
        created_at: Timestamp::now(),
    };
    diesel::insert_into(organisations::table)
        .values(&organisation)
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => {
                Error::Conflict("an organisation with this ODS code already exists".into())
            }
            other => other,
        })?;
    Ok(organisation)
}

/// Adds a client to an organisation; answers its credentials, secret included, once.
pub fn create_client(
    conn: &mut DbConnection,
    organisation_id: Id,
    scopes: &Scopes,
) -> Result<NewCredentials, Error> {
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "give at least one scope"));
    }
    let secret = secrets::new_secret();
    let row = ClientRow {
        id: Id::new(),
        organisation_id,
        client_id: secrets::new_client_id(),
        secret_hash: secrets::hash(&secret)?,
        scopes: scopes.to_string(),
        created_at: Timestamp::now(),
        revoked_at: None,
    };
    diesel::insert_into(clients::table)
        .values(&row)
        .execute(conn)?;
    Ok(NewCredentials {
        organisation_id: organisation_id.0,
        client_id: row.client_id,
        client_secret: secret,
        scopes: row.scopes,
    })
}

/// Whether a client exists and has not been revoked.
pub fn client_is_active(conn: &mut DbConnection, client_id: &str) -> Result<bool, Error> {
    let revoked: Option<Option<Timestamp>> = clients::table
        .filter(clients::client_id.eq(client_id))
        .select(clients::revoked_at)
        .first(conn)
        .optional()?;
    Ok(matches!(revoked, Some(None)))
}

/// A client as stored: what checking its secret needs.
#[derive(Debug, Clone)]
pub struct StoredClient {
    pub client_id: String,
    pub organisation_id: Id,
    pub secret_hash: String,
    pub scopes: Scopes,
    pub revoked_at: Option<Timestamp>,
}

/// A client by its public id, with its secret's hash.
pub fn stored_client(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<StoredClient>, Error> {
    let row: Option<ClientRow> = clients::table
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|row| StoredClient {
        scopes: Scopes::parse_lenient(&row.scopes),
        client_id: row.client_id,
        organisation_id: row.organisation_id,
        secret_hash: row.secret_hash,
        revoked_at: row.revoked_at,
    }))
}

/// An organisation in the directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: uuid::Uuid,
    pub name: String,
    /// The NHS Organisation Data Service code, when it has one.
    pub ods_code: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        OrganisationView {
            id: o.id.0,
            name: o.name,
            ods_code: o.ods_code,
            created_at: o.created_at.0,
        }
    }
}

/// A new organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "St Elsewhere NHS Foundation Trust"
    )]
    pub name: String,
    /// Unique when given.
    #[schema(max_length = 12, example = "RXX")]
    pub ods_code: Option<String>,
}

/// A new API client of an organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// At least one scope.
    pub scopes: Vec<crate::auth::Scope>,
}

/// An API client, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set once revoked: its tokens stop working at once.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Directory search.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryFilter {
    /// Part of the name, any case.
    pub q: Option<String>,
    /// An exact ODS code, any case.
    pub ods_code: Option<String>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn like_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The directory, newest first.
pub fn search(
    conn: &mut DbConnection,
    filter: &DirectoryFilter,
    page: Page,
) -> Result<List<OrganisationView>, Error> {
    let mut query = organisations::table
        .select(Organisation::as_select())
        .order(organisations::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        if q.chars().count() > 200 {
            return Err(Error::invalid("q", "must be at most 200 characters"));
        }
        query = query.filter(
            lower(organisations::name)
                .like(like_pattern(q))
                .escape('\\'),
        );
    }
    if let Some(code) = filter.ods_code.as_deref().filter(|c| !c.trim().is_empty()) {
        query = query.filter(organisations::ods_code.eq(code.trim().to_ascii_uppercase()));
    }
    if let Some(after) = page.after {
        query = query.filter(organisations::id.lt(after));
    }
    let rows = query.load(conn)?;
    Ok(List::from_rows(rows, page, |o: &Organisation| o.id).map(OrganisationView::from))
}

pub fn get(conn: &mut DbConnection, id: Id) -> Result<Organisation, Error> {
    organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such organisation".into()))
}

/// An organisation's clients, oldest first.
pub fn clients_of(conn: &mut DbConnection, organisation_id: Id) -> Result<Vec<ClientView>, Error> {
    get(conn, organisation_id)?;
    let rows: Vec<ClientRow> = clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .order(clients::id.asc())
        .select(ClientRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ClientView {
            client_id: r.client_id,
            scopes: r.scopes,
            created_at: r.created_at.0,
            revoked_at: r.revoked_at.map(|t| t.0),
        })
        .collect())
}

/// Revokes a client: its tokens are refused from the next request on.
pub fn revoke_client(
    conn: &mut DbConnection,
    organisation_id: Option<Id>,
    client_id: &str,
) -> Result<ClientView, Error> {
    let mut query = clients::table
        .filter(clients::client_id.eq(client_id))
        .into_boxed();
    if let Some(organisation_id) = organisation_id {
        query = query.filter(clients::organisation_id.eq(organisation_id));
    }
    let row: ClientRow = query
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such client".into()))?;
    let revoked_at = row.revoked_at.unwrap_or_else(Timestamp::now);
    diesel::update(clients::table.find(row.id))
        .set(clients::revoked_at.eq(Some(revoked_at)))
        .execute(conn)?;
    Ok(ClientView {
        client_id: row.client_id,
        scopes: row.scopes,
        created_at: row.created_at.0,
        revoked_at: Some(revoked_at.0),
    })
}
