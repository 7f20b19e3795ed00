//! Access tokens: what the service signs, and how every bearer token is checked.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::keys::Keys;
use super::oidc::OidcProvider;
use super::scopes::Scopes;
use super::verified::Verified;
use crate::error::Error;

/// Tolerance for clock differences between the service, identity providers and clients.
const LEEWAY_SECONDS: u64 = 30;

/// The claims of a token, signed by the service or by the external identity provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: serde_json::Value,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OpenID Connect: whether the provider checked that the person owns `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Present only on organisation client tokens (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The organisation of a client token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<uuid::Uuid>,
    /// Space-separated scopes of a client token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A person as the identity provider names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Whether the token's issuer vouched for the email (OpenID Connect `email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
}

/// An organisation's API client, as its token names it.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub client_id: String,
    pub organisation_id: uuid::Uuid,
    pub scopes: Scopes,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone)]
pub enum TokenSubject {
    Person(PersonIdentity),
    Client(ClientIdentity),
}

/// Issues the service's own tokens and verifies every bearer token.
pub struct TokenService {
    pub keys: Arc<Keys>,
    pub issuer: String,
    pub audience: String,
    pub oidc: Option<Arc<OidcProvider>>,
    /// The service's own tokens already verified (see [`Verified`]).
    verified: Verified<TokenSubject>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TokenService {
    pub fn new(
        keys: Arc<Keys>,
        issuer: String,
        audience: String,
        oidc: Option<Arc<OidcProvider>>,
    ) -> Self {
        TokenService {
            keys,
            issuer,
            audience,
            oidc,
            verified: Verified::default(),
        }
    }

    /// A person token signed by the service (for local use, tests and the command line).
    pub fn issue_person_token(
        &self,
        subject: &str,
        email: Option<&str>,
        name: Option<&str>,
        ttl: i64,
    ) -> Result<String, Error> {
        let iat = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.audience.clone().into(),
            exp: iat + ttl,
            nbf: Some(iat),
            iat: Some(iat),
            jti: Some(uuid::Uuid::now_v7().to_string()),
            email: email.map(str::to_owned),
            // The service signs for people only on its operator's word (the command line).
            email_verified: email.map(|_| true),
            name: name.map(str::to_owned),
            client_id: None,
            org: None,
            scope: None,
        };
        self.keys.sign(&claims, "at+jwt")
    }

    /// An organisation client's access token.
    pub fn issue_client_token(
        &self,
        client_id: &str,
        organisation_id: uuid::Uuid,
        scopes: &Scopes,
        ttl: i64,
    ) -> Result<String, Error> {
        let iat = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client_id.to_owned(),
            aud: self.audience.clone().into(),
            exp: iat + ttl,
            nbf: Some(iat),
            iat: Some(iat),
            jti: Some(uuid::Uuid::now_v7().to_string()),
            email: None,
            email_verified: None,
            name: None,
            client_id: Some(client_id.to_owned()),
            org: Some(organisation_id),
            scope: Some(scopes.to_string()),
        };
        self.keys.sign(&claims, "at+jwt")
    }

    /// Checks a bearer token: a known key, the algorithm that key is for, signature, `exp`,
    /// `nbf`, `iss` and `aud`. Anything else is refused.
    pub async fn verify(&self, token: &str) -> Result<TokenSubject, Error> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Error::Unauthorized("the token is malformed".into()))?;
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| Error::Unauthorized("the token names no key (kid)".into()))?;

        let known = |kid: &str| self.keys.current().find(kid).is_some();
        if let Some(subject) = self
            .verified
            .get(token, now(), LEEWAY_SECONDS as i64, known)
        {
            return Ok(subject);
        }
        if let Some(key) = self.keys.decoding(kid) {
            // RFC 8725 section 3.11: the service signs several kinds of JWT with one key, and
            // only an access token may be used as one.
            if !header.typ.as_deref().is_some_and(is_access_token_type) {
                return Err(Error::Unauthorized(
                    "the token is not an access token (typ must be at+jwt)".into(),
                ));
            }
            if header.alg != Algorithm::EdDSA {
                return Err(Error::Unauthorized(
                    "the token's algorithm does not match its key".into(),
                ));
            }
            let claims = decode(token, &key, Algorithm::EdDSA, &self.issuer, &self.audience)?;
            let expires = claims.exp;
            let subject = match (&claims.client_id, claims.org) {
                (Some(client_id), Some(org)) if *client_id == claims.sub => {
                    TokenSubject::Client(ClientIdentity {
                        client_id: client_id.clone(),
                        organisation_id: org,
                        scopes: Scopes::parse_lenient(claims.scope.as_deref().unwrap_or("")),
                    })
                }
                (None, None) => TokenSubject::Person(person(claims)),
                _ => {
                    return Err(Error::Unauthorized(
                        "the token's claims are inconsistent".into(),
                    ));
                }
            };
            self.verified
                .insert(token, subject.clone(), expires, kid, now());
            return Ok(subject);
        }

        if let Some(oidc) = &self.oidc {
            let (decoding, alg) = oidc.key(kid).await.ok_or_else(|| {
                Error::Unauthorized("the token was signed by an unknown key".into())
            })?;
            if header.alg != alg {
                return Err(Error::Unauthorized(
                    "the token's algorithm does not match its key".into(),
                ));
            }
            // Providers type their tokens `at+jwt`, `JWT` or not at all; any other declared
            // type (a logout token, a credential) is something else.
            if header
                .typ
                .as_deref()
                .is_some_and(|typ| !typ.eq_ignore_ascii_case("jwt") && !is_access_token_type(typ))
            {
                return Err(Error::Unauthorized(
                    "the token's type says it is not an access or ID token".into(),
                ));
            }
            let claims = decode(token, &decoding, alg, &oidc.issuer, &oidc.audience)?;
            // The provider speaks only for people: a client_id claim from it means nothing here.
            return Ok(TokenSubject::Person(person(claims)));
        }

        Err(Error::Unauthorized(
            "the token was signed by an unknown key".into(),
        ))
    }
}

/// `at+jwt`, also written as the full media type (RFC 9068 section 2.1).
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

fn person(claims: Claims) -> PersonIdentity {
    PersonIdentity {
        issuer: claims.iss,
        subject: claims.sub,
        email_verified: claims.email.is_some() && claims.email_verified == Some(true),
        email: claims.email,
        name: claims.name,
    }
}

fn decode(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    alg: Algorithm,
    issuer: &str,
    audience: &str,
) -> Result<Claims, Error> {
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let reason = match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
                ErrorKind::InvalidAudience => "the token's audience is not accepted",
                ErrorKind::InvalidSignature => "the token's signature is invalid",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                _ => "the token is invalid",
            };
            Error::Unauthorized(reason.into())
        })
}
