//! `/v1/organisations`: the directory, and its administration (scope `admin`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, post, web};

use super::{
    ClientView, DirectoryFilter, NewClient, NewCredentials, NewOrganisation, OrganisationView,
};
use crate::auth::{Caller, OrgCaller, Scope, Scopes};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::pagination::{List, PageRequest};

/// The directory of organisations, searchable by name or ODS code, so that a person's app can
/// find the employer or learning platform to share with. Any authenticated caller.
#[utoipa::path(
    operation_id = "searchOrganisations",
    tag = "organisations",
    security(("bearer" = []), ("client_credentials" = [])),
    params(PageRequest, DirectoryFilter),
    responses(
        (status = 200, description = "A page of organisations", body = List<OrganisationView>),
    )
)]
#[get("/v1/organisations")]
pub async fn directory(
    _caller: Caller,
    page: Query<PageRequest>,
    filter: Query<DirectoryFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let list = state
        .db
        .run(move |conn| super::search(conn, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One organisation of the directory.
#[utoipa::path(
    operation_id = "getOrganisation",
    tag = "organisations",
    security(("bearer" = []), ("client_credentials" = [])),
    params(("id" = uuid::Uuid, Path, description = "The organisation id")),
    responses(
        (status = 200, description = "The organisation", body = OrganisationView),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/organisations/{id}")]
pub async fn get_one(
    _caller: Caller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let organisation = state.db.run(move |conn| super::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(OrganisationView::from(organisation)))
}

/// Register an organisation (scope `admin`).
#[utoipa::path(
    operation_id = "createOrganisation",
    tag = "organisations",
    security(("client_credentials" = ["admin"])),
    request_body = NewOrganisation,
    responses(
        (status = 201, description = "The organisation", body = OrganisationView, headers(("Location" = String))),
        (status = 409, description = "The ODS code is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/organisations")]
pub async fn create(
    org: OrgCaller,
    body: Body<NewOrganisation>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::Admin)?;
    let input = body.0;
    let organisation = state
        .db
        .run(move |conn| super::create(conn, &input.name, input.ods_code.as_deref()))
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            header::LOCATION,
            format!("/v1/organisations/{}", organisation.id),
        ))
        .json(OrganisationView::from(organisation)))
}

/// An organisation's API clients, without secrets: the host's administrator (`admin`) for any
/// organisation, an organisation's own administrator (`clients:manage`) for its own.
#[utoipa::path(
    operation_id = "listOrganisationClients",
    tag = "organisations",
    security(("client_credentials" = ["admin"]), ("client_credentials" = ["clients:manage"])),
    params(("id" = uuid::Uuid, Path, description = "The organisation id"), PageRequest),
    responses(
        (status = 200, description = "A page of clients, oldest first", body = List<ClientView>),
        (status = 403, description = "Neither `admin` nor `clients:manage` for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/organisations/{id}/clients")]
pub async fn clients(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    super::may_administer(&org, id)?;
    let page = page.0.parse()?;
    let clients = state
        .db
        .run(move |conn| super::clients_of(conn, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(clients))
}

/// Add an API client to an organisation. The answer holds the secret: it is shown this once
/// and stored only as a hash. The host's administrator (`admin`) may add any client to any
/// organisation; an organisation's own administrator (`clients:manage`) only to its own, with
/// no more than its own scopes and never `admin`.
#[utoipa::path(
    operation_id = "addOrganisationClient",
    tag = "organisations",
    security(("client_credentials" = ["admin"]), ("client_credentials" = ["clients:manage"])),
    params(("id" = uuid::Uuid, Path, description = "The organisation id")),
    request_body = NewClient,
    responses(
        (status = 201, description = "The client's credentials", body = NewCredentials),
        (status = 403, description = "Neither `admin` nor `clients:manage` for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/organisations/{id}/clients")]
pub async fn add_client(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    body: Body<NewClient>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    super::may_administer(&org, id)?;
    let scopes = Scopes::parse(
        &body
            .0
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    )?;
    super::may_give(&org, &scopes)?;
    let credentials = state
        .db
        .transaction(move |conn| {
            super::get(conn, id)?;
            super::create_client(conn, id, &scopes)
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(credentials))
}

/// Revoke an API client: its tokens are refused from the next request on. The host's
/// administrator (`admin`) for any organisation, an organisation's own administrator
/// (`clients:manage`) for its own.
#[utoipa::path(
    operation_id = "revokeOrganisationClient",
    tag = "organisations",
    security(("client_credentials" = ["admin"]), ("client_credentials" = ["clients:manage"])),
    params(
        ("id" = uuid::Uuid, Path, description = "The organisation id"),
        ("client_id" = String, Path, description = "The client id"),
    ),
    responses(
        (status = 200, description = "The revoked client", body = ClientView),
        (status = 403, description = "Neither `admin` nor `clients:manage` for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client of this organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/organisations/{id}/clients/{client_id}")]
pub async fn revoke_client(
    org: OrgCaller,
    path: web::Path<(uuid::Uuid, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (id, client_id) = path.into_inner();
    super::may_administer(&org, id.into())?;
    let client = state
        .db
        .run(move |conn| super::revoke_client(conn, Some(id.into()), &client_id))
        .await?;
    Ok(HttpResponse::Ok().json(client))
}
