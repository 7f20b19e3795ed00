//! Who is calling the LRS: an organisation client, by HTTP Basic (its id and secret, as LRS
//! clients are configured) or by a bearer token from `/v1/oauth/token`.

use crate::db::ids::OrganisationId;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;

use crate::auth::clients::{self, Refusal};
use crate::auth::principal;
use crate::auth::scopes::{Scope, Scopes};
use crate::auth::tokens::TokenSubject;
use crate::error::Error;
use crate::http::client_address;
use crate::xapi::version::XapiVersion;

/// An organisation client calling the LRS. Every statement and document it reaches belongs to
/// its organisation.
#[derive(Debug, Clone)]
pub struct LrsClient {
    pub organisation_id: OrganisationId,
    pub client_id: String,
    pub scopes: Scopes,
    /// The xAPI version the request speaks: the LRS stores and answers by its rules.
    pub version: XapiVersion,
}

impl LrsClient {
    /// Storing statements and documents feeds passports: it needs `records:write`.
    pub fn require_write(&self) -> Result<(), Error> {
        if self.scopes.contains(Scope::RecordsWrite) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "storing xAPI statements and documents needs the `records:write` scope".into(),
            ))
        }
    }
}

enum Credentials {
    Basic { client_id: String, secret: String },
    Bearer(String),
}

fn credentials(req: &HttpRequest) -> Result<Credentials, Error> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            Error::Unauthorized(
                "the LRS needs HTTP Basic credentials (a client id and secret) or a bearer token"
                    .into(),
            )
        })?
        .to_str()
        .map_err(|_| Error::Unauthorized("the Authorization header is malformed".into()))?;
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or_else(|| Error::Unauthorized("the Authorization header is malformed".into()))?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Credentials::Bearer(rest.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Error::Unauthorized(
            "the Authorization header must be `Basic` or `Bearer`".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Error::Unauthorized("the Basic credentials are malformed".into()))?;
    let (client_id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| Error::Unauthorized("the Basic credentials are malformed".into()))?;
    Ok(Credentials::Basic {
        client_id: client_id.to_owned(),
        secret: secret.to_owned(),
    })
}

async fn authenticate(req: HttpRequest) -> Result<LrsClient, Error> {
    // The version middleware has refused every request to these resources that names none.
    let version = XapiVersion::of(&req).unwrap_or(XapiVersion::NEWEST);
    let state = principal::state(&req)?;
    let caller = match credentials(&req)? {
        Credentials::Bearer(token) => match principal::verified(&req, &state, &token).await? {
            TokenSubject::Client(client) => principal::active_client(&state, client).await?,
            TokenSubject::Person(_) => {
                return Err(Error::Forbidden(
                    "the LRS is for organisation clients, not people".into(),
                ));
            }
        },
        Credentials::Basic { client_id, secret } => {
            let address = client_address::of(&req);
            match clients::authenticate(&state, address, &client_id, &secret).await {
                Ok(caller) => caller,
                Err(Refusal::Invalid) => {
                    return Err(Error::Unauthorized("unknown client or wrong secret".into()));
                }
                Err(Refusal::TooMany(wait)) => return Err(Error::TooManyRequests(wait)),
                Err(Refusal::Failed(error)) => return Err(error),
            }
        }
    };
    Ok(LrsClient {
        organisation_id: caller.organisation_id,
        client_id: caller.client_id,
        scopes: caller.scopes,
        version,
    })
}

impl FromRequest for LrsClient {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
