//! `/v1/me/credentials`, `/v1/credentials/verify`, the status list and the DID document.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use super::{
    CredentialRequest, CredentialSummary, DidDocument, IssueAnswer, StatusListCredential,
    VerifyRequest, VerifyResult,
};
use crate::auth::Me;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::pagination::{List, PageRequest};

/// Take a signed copy of chosen records and attainments: W3C Verifiable Credentials secured as
/// JWTs (VC-JWT), signed by the service's key with its `kid`, in the `format` asked for:
///
/// - `passport` (the default): one `LearningPassportCredential` holding every chosen item. It
///   says per item whether it was issued by a learning platform (which) or self-declared, and
///   whether an attainment was verified (by whom). It holds no personal data beyond what is
///   chosen (`include_name`) and names no holder.
/// - `ob3`: an Open Badges 3.0 `OpenBadgeCredential` per chosen record or attainment (at most
///   50), answered as a list. Its issuer is the organisation that issued the record (or signed
///   the attainment off) as the passport knows it, `did:web:{host}:organisations:{id}`; what the
///   person declared themselves is issued by the service and tagged `self-declared`.
/// - `clr2`: one CLR 2.0 `ClrCredential` holding such a badge per chosen item, with the
///   frameworks of the attainments and how outcomes, frameworks and evidence are associated.
///
/// Open Badges and CLR credentials name their holder by salted hashes (`bind_to`), and their
/// key as a method of their issuer's DID (`kid` `did:web:…#{kid}`). Anyone can verify every
/// format with the keys of the DID documents, which are those of `/.well-known/jwks.json`.
#[utoipa::path(
    operation_id = "issueCredential",
    tag = "credentials",
    security(("bearer" = [])),
    request_body = CredentialRequest,
    responses(
        (status = 201, description = "The credential (`passport`, `clr2`) or the badges (`ob3`)", body = IssueAnswer, headers(("Location" = String, description = "The credential, when there is one"))),
        (status = 409, description = "The person already holds 100 live credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid choice: someone else's record, a voided one, nothing chosen", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/credentials")]
pub async fn issue(
    me: Me,
    body: Body<CredentialRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let app = state.clone();
    let answer = state
        .db
        .run(move |conn| {
            super::issue(
                conn,
                &app.tokens.keys,
                &app.settings.issuer(),
                me.person_id,
                body.0,
            )
        })
        .await?;
    let mut response = HttpResponse::build(StatusCode::CREATED);
    if let IssueAnswer::One(credential) = &answer {
        response.insert_header((
            header::LOCATION,
            format!("/v1/me/credentials/{}", credential.id),
        ));
    }
    Ok(response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// The credentials the caller created, newest first.
#[utoipa::path(
    operation_id = "listMyCredentials",
    tag = "credentials",
    security(("bearer" = [])),
    params(PageRequest),
    responses(
        (status = 200, description = "A page of credentials", body = List<CredentialSummary>),
    )
)]
#[get("/v1/me/credentials")]
pub async fn list(
    me: Me,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let list = state
        .db
        .run(move |conn| super::list(conn, me.person_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One of the caller's credentials: its format, what it holds, when it expires and whether it
/// was revoked (never its content, which lives only in the JWT the caller was given).
#[utoipa::path(
    operation_id = "getMyCredential",
    tag = "credentials",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The credential id")),
    responses(
        (status = 200, description = "The credential", body = CredentialSummary),
        (status = 404, description = "No such credential of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/credentials/{id}")]
pub async fn get(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let summary = state
        .db
        .run(move |conn| super::get(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Revoke one of the caller's credentials: every verification reports it revoked from now on,
/// online and through the status list.
#[utoipa::path(
    operation_id = "revokeCredential",
    tag = "credentials",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The credential id")),
    responses(
        (status = 200, description = "The revoked credential", body = CredentialSummary),
        (status = 404, description = "No such credential of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/credentials/{id}")]
pub async fn revoke(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let summary = state
        .db
        .run(move |conn| super::revoke(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Check a credential of any format (no authentication needed): signature by a key of the
/// service, issuer (the service, or an organisation as it knows it), validity period and
/// revocation, and, given `recipient`, that it was issued to that holder. Answers each check
/// made and what is wrong, in plain words.
#[utoipa::path(
    operation_id = "verifyCredential",
    tag = "credentials",
    security(),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The verdict", body = VerifyResult),
        (status = 422, description = "No `jwt`, or a `recipient` no holder could be", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/credentials/verify")]
pub async fn verify(
    body: Body<VerifyRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    if let Some(recipient) = &body.0.recipient {
        recipient.check()?;
    }
    let app = state.clone();
    let result = state
        .db
        .run(move |conn| {
            super::verify(
                conn,
                &app.tokens.keys,
                &app.settings.issuer(),
                &body.0.jwt,
                body.0.recipient.as_ref(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// The revocation status of the credentials of one status list, as a Bitstring Status List
/// credential secured as a JWT (`application/vc+jwt`): bit `statusListIndex` of the
/// GZIP-compressed, base64url-encoded `encodedList` is 1 when that credential is revoked. Each
/// credential names its list in `credentialStatus.statusListCredential`; a new list is opened
/// when one fills.
///
/// The same JWT is answered as `text/plain` to a client that asks for that (`Accept:
/// text/plain`) and not for `application/vc+jwt`, for HTTP clients that read only text.
#[utoipa::path(
    operation_id = "getCredentialStatusList",
    tag = "credentials",
    security(),
    params(("number" = i32, Path, description = "The list's number, from 1")),
    responses(
        (status = 200, description = "The status list credential (VC-JWT)", headers(("Cache-Control" = String), ("Vary" = String)), content(
            (StatusListCredential = "application/vc+jwt"),
            (StatusListCredential = "text/plain"),
        )),
        (status = 404, description = "No such list", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/credentials/status/{number}")]
pub async fn status_list(
    req: HttpRequest,
    number: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let app = state.clone();
    let number = number.into_inner();
    let jwt = state
        .db
        .run(move |conn| {
            super::status::list(conn, &app.tokens.keys, &app.settings.issuer(), number)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(status_list_media_type(&req))
        .insert_header((header::CACHE_CONTROL, "max-age=60"))
        .insert_header((header::VARY, "Accept"))
        .body(jwt))
}

/// `application/vc+jwt` unless the client asks for `text/plain` and not for it.
fn status_list_media_type(req: &HttpRequest) -> &'static str {
    let accepted: Vec<String> = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|range| range.split(';').next())
        .map(|range| range.trim().to_ascii_lowercase())
        .collect();
    let asks = |media_type: &str| accepted.iter().any(|a| a == media_type);
    if asks("text/plain") && !asks("application/vc+jwt") {
        "text/plain"
    } else {
        "application/vc+jwt"
    }
}

/// The service's `did:web` DID document: the same keys as the JWKS.
#[utoipa::path(
    operation_id = "getDidDocument",
    tag = "credentials",
    security(),
    responses((status = 200, description = "The DID document", body = DidDocument, content_type = "application/did+json"))
)]
#[get("/.well-known/did.json")]
pub async fn did_document(state: web::Data<AppState>) -> HttpResponse {
    did_json(state).await
}

/// The passport's JSON-LD context, named by every credential it issues: the terms of its own
/// (`LearningPassportCredential`, `records`, `attainments` and what they hold) are terms of the
/// passport's vocabulary (`{this URL}#`), so that a credential expands in JSON-LD safe mode.
#[utoipa::path(
    operation_id = "getPassportContext",
    tag = "credentials",
    security(),
    responses((status = 200, description = "The JSON-LD context", body = Object, content_type = "application/ld+json"))
)]
#[get("/contexts/passport/v1")]
pub async fn passport_context(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ld+json")
        // A context does not change under its URL; a new one would get a new URL.
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=86400",
        ))
        .json(super::context::document(&state.settings.issuer()))
}

/// The same DID document, at `/did.json`: where `did:web` resolution looks when the public URL
/// has a path (`PASSPORT_PUBLIC_URL=https://host/passport` is `did:web:host:passport`, resolved
/// at `https://host/passport/did.json`), for a proxy that forwards `/passport/…` without its
/// prefix. The service also answers at `{path}/did.json` itself, for one that keeps it.
#[utoipa::path(
    operation_id = "getDidDocumentAtPath",
    tag = "credentials",
    security(),
    responses((status = 200, description = "The DID document", body = DidDocument, content_type = "application/did+json"))
)]
#[get("/did.json")]
pub async fn did_document_at_path(state: web::Data<AppState>) -> HttpResponse {
    did_json(state).await
}

/// The DID document of an organisation as the passport knows it
/// (`did:web:{host}:organisations:{id}`): the issuer of the Open Badges credentials of what
/// the organisation issued to a person. Its keys are the service's, which signs for it, and the
/// service's DID is its controller.
#[utoipa::path(
    operation_id = "getOrganisationDidDocument",
    tag = "credentials",
    security(),
    params(("id" = uuid::Uuid, Path, description = "The organisation id")),
    responses(
        (status = 200, description = "The DID document", body = DidDocument, content_type = "application/did+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}/did.json")]
pub async fn organisation_did_document(
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    organisation_did_json(id, state).await
}

/// The organisation's DID document, also answered under the public URL's path.
pub async fn organisation_did_json(
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    state
        .db
        .run(move |conn| crate::organisations::store::get(conn, id.into()))
        .await?;
    let document =
        super::did::organisation_did_document(&state.settings.issuer(), id, &state.tokens.keys);
    Ok(HttpResponse::Ok()
        .content_type("application/did+json")
        .insert_header((
            header::CACHE_CONTROL,
            format!(
                "public, max-age={}",
                crate::auth::keys::JWKS_MAX_AGE_SECONDS
            ),
        ))
        .json(document))
}

/// The DID document, cacheable as long as the JWKS (a new key is published that long before
/// it signs).
pub async fn did_json(state: web::Data<AppState>) -> HttpResponse {
    let document = super::did_document(&state.settings.issuer(), &state.tokens.keys);
    HttpResponse::Ok()
        .content_type("application/did+json")
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            format!(
                "public, max-age={}",
                crate::auth::keys::JWKS_MAX_AGE_SECONDS
            ),
        ))
        .json(document)
}
