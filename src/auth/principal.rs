//! Who is calling: extractors that turn a bearer token into a typed caller.
//!
//! A handler names the caller it serves in its arguments: [`Me`] for a person (resolved to
//! their passport, created on first use), [`OrgCaller`] for an organisation client. The wrong
//! kind of caller gets 403; a missing or invalid token gets 401. [`MyIdentity`] is a person not
//! yet resolved, only for a read that finds the passport in its own query.

use crate::db::ids::{OrganisationId, PersonId};
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::scopes::{Scope, Scopes};
use super::tokens::{ClientIdentity, PersonIdentity, TokenSubject};
use crate::error::Error;
use crate::http::AppState;
use crate::http::limits::VerifiedToken;
use crate::{organisations, people};

fn bearer(req: &HttpRequest) -> Result<String, Error> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::Unauthorized("a bearer token is required".into()))?;
    let value = value
        .to_str()
        .map_err(|_| Error::Unauthorized("the Authorization header is malformed".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(Error::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

pub(crate) fn state(req: &HttpRequest) -> Result<web::Data<AppState>, Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::Internal("application state missing".into()))
}

/// A bearer token's subject: as the admission middleware verified it, or verified now.
pub(crate) async fn verified(
    req: &HttpRequest,
    state: &AppState,
    token: &str,
) -> Result<TokenSubject, Error> {
    let known = req.extensions().get::<VerifiedToken>().cloned();
    match known {
        Some(VerifiedToken(Ok(subject))) => Ok(subject),
        Some(VerifiedToken(Err(reason))) => Err(Error::Unauthorized(reason)),
        None => state.tokens.verify(token).await,
    }
}

async fn subject(req: HttpRequest) -> Result<(web::Data<AppState>, TokenSubject), Error> {
    let state = state(&req)?;
    let token = bearer(&req)?;
    let subject = verified(&req, &state, &token).await?;
    Ok((state, subject))
}

/// What the extractors of a caller answer.
type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

/// Verifies the request's bearer token, then makes the caller of its subject with `caller`.
fn extract<T, F, Fut>(req: &HttpRequest, caller: F) -> Extracted<T>
where
    F: FnOnce(web::Data<AppState>, TokenSubject) -> Fut + 'static,
    Fut: Future<Output = Result<T, Error>> + 'static,
{
    let req = req.clone();
    Box::pin(async move {
        let (state, subject) = subject(req).await?;
        caller(state, subject).await
    })
}

/// A person's identity; 403 for an organisation client.
fn person_of(subject: TokenSubject) -> Result<PersonIdentity, Error> {
    match subject {
        TokenSubject::Person(identity) => Ok(identity),
        TokenSubject::Client(_) => Err(Error::Forbidden(
            "this endpoint is for people, not organisation clients".into(),
        )),
    }
}

/// An organisation client's identity; 403 for a person.
fn client_of(subject: TokenSubject) -> Result<ClientIdentity, Error> {
    match subject {
        TokenSubject::Client(client) => Ok(client),
        TokenSubject::Person(_) => Err(Error::Forbidden(
            "this endpoint is for organisation clients, not people".into(),
        )),
    }
}

/// The person calling, with their passport's id.
#[derive(Debug, Clone)]
pub struct Me {
    pub person_id: PersonId,
    pub identity: PersonIdentity,
}

impl FromRequest for Me {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |state, subject| async move {
            let identity = person_of(subject)?;
            let lookup = identity.clone();
            let person_id = state
                .db
                .run(move |conn| people::resolve(conn, &lookup))
                .await?;
            Ok(Me {
                person_id,
                identity,
            })
        })
    }
}

/// The person calling, before their passport is looked up: for a read that finds the passport
/// in its own query (the owner's list of records), one round trip to the database instead of
/// two. It must still find the passport with [`crate::people::resolve`] when that query
/// finds nothing, since a person's first request creates their passport.
#[derive(Debug, Clone)]
pub struct MyIdentity(pub PersonIdentity);

impl FromRequest for MyIdentity {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |_, subject| async move {
            person_of(subject).map(MyIdentity)
        })
    }
}

/// An organisation's API client, checked against the database on every request so that a
/// revoked client is refused at once, whatever its token says.
#[derive(Debug, Clone)]
pub struct OrgCaller {
    pub client_id: String,
    pub organisation_id: OrganisationId,
    pub scopes: Scopes,
}

impl OrgCaller {
    /// Refuses with 403 unless the client holds the scope.
    pub fn require(&self, scope: Scope) -> Result<(), Error> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the `{}` scope",
                scope.as_str()
            )))
        }
    }

    /// Refuses with 403 unless the client holds one of the scopes.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), Error> {
        if scopes.iter().any(|s| self.scopes.contains(*s)) {
            Ok(())
        } else {
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            Err(Error::Forbidden(format!(
                "this needs one of the scopes {}",
                names.join(", ")
            )))
        }
    }
}

impl FromRequest for OrgCaller {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |state, subject| async move {
            active_client(&state, client_of(subject)?).await
        })
    }
}

/// The client a verified identity names, refused with 401 when it has been revoked.
pub(crate) async fn active_client(
    state: &AppState,
    client: ClientIdentity,
) -> Result<OrgCaller, Error> {
    let client_id = client.client_id.clone();
    let active = state
        .db
        .run(move |conn| organisations::client_is_active(conn, &client_id))
        .await?;
    if !active {
        return Err(Error::Unauthorized("the client has been revoked".into()));
    }
    Ok(OrgCaller {
        client_id: client.client_id,
        organisation_id: OrganisationId(client.organisation_id),
        scopes: client.scopes,
    })
}

/// Any authenticated caller, person or organisation.
#[derive(Debug, Clone)]
pub enum Caller {
    Person(PersonIdentity),
    Org(OrgCaller),
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |state, subject| async move {
            match subject {
                TokenSubject::Person(identity) => Ok(Caller::Person(identity)),
                TokenSubject::Client(client) => {
                    Ok(Caller::Org(active_client(&state, client).await?))
                }
            }
        })
    }
}

/// An organisation client's verified token, before any database check. For endpoints that
/// touch a person's data, whose domain functions check the client, its scopes and the grants
/// themselves, so that every refusal is written to the person's access log.
#[derive(Debug, Clone)]
pub struct OrgToken(pub ClientIdentity);

impl FromRequest for OrgToken {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(
            req,
            |_, subject| async move { client_of(subject).map(OrgToken) },
        )
    }
}
