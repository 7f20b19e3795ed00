//! The `organisations` and `clients` tables: rows and every query on them.

use crate::db::ids::{ClientId, OrganisationId};
use diesel::prelude::*;

use super::{ClientView, DirectoryFilter, NewCredentials, OrganisationView, validate};
use crate::auth::{Scopes, secrets};
use crate::db::DbConnection;
use crate::db::schema::{clients, organisations};
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::http::pagination::{List, Page};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// An organisation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub ods_code: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: ClientId,
    organisation_id: OrganisationId,
    client_id: String,
    secret_hash: String,
    scopes: String,
    created_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

/// Creates an organisation.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    ods_code: Option<&str>,
) -> Result<Organisation, Error> {
    let (name, ods_code) = validate(name, ods_code)?;
    let organisation = Organisation {
        id: OrganisationId::new(),
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
    organisation_id: OrganisationId,
    scopes: &Scopes,
) -> Result<NewCredentials, Error> {
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "give at least one scope"));
    }
    let secret = secrets::new_secret();
    let row = ClientRow {
        id: ClientId::new(),
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
/// The condition "this client exists and has not been revoked", for a query of another table to
/// check the client in the same statement (an organisation's read checks its client and its
/// grants in one round trip: see `grants::live_to_client`).
pub type ActiveClient<'a> = diesel::dsl::exists<
    diesel::dsl::Filter<
        diesel::dsl::Filter<clients::table, diesel::dsl::Eq<clients::client_id, &'a str>>,
        diesel::dsl::IsNull<clients::revoked_at>,
    >,
>;

/// See [`ActiveClient`].
pub fn active_client(client_id: &str) -> ActiveClient<'_> {
    diesel::dsl::exists(
        clients::table
            .filter(clients::client_id.eq(client_id))
            .filter(clients::revoked_at.is_null()),
    )
}

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
    pub organisation_id: OrganisationId,
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
    page: Page<OrganisationId>,
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
    Ok(List::from_rows(rows, &page, |o: &Organisation| o.id).map(OrganisationView::from))
}

pub fn get(conn: &mut DbConnection, id: OrganisationId) -> Result<Organisation, Error> {
    organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such organisation".into()))
}

/// A page of an organisation's clients, oldest first.
pub fn clients_of(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    page: Page<ClientId>,
) -> Result<List<ClientView>, Error> {
    get(conn, organisation_id)?;
    let mut query = clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .order(clients::id.asc())
        .select(ClientRow::as_select())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(clients::id.gt(after));
    }
    let rows: Vec<ClientRow> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |r| r.id).map(|r| ClientView {
        client_id: r.client_id,
        scopes: r.scopes,
        created_at: r.created_at.0,
        revoked_at: r.revoked_at.map(|t| t.0),
    }))
}

/// Revokes a client: its tokens are refused from the next request on.
pub fn revoke_client(
    conn: &mut DbConnection,
    organisation_id: Option<OrganisationId>,
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
