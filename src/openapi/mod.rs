//! The OpenAPI document: the parts no handler declares (info, security schemes, tags), and
//! what is derived once for every operation from what the handlers declare.
//!
//! - [`responses`]: the error answers every operation can give, from its security, parameters
//!   and body, and the headers on every answer;
//! - [`schemas`]: a schema written out where a component of the same content exists becomes a
//!   reference to the component (the item schemas of generic lists).

mod responses;
mod schemas;

pub use responses::StandardResponses;
pub use schemas::SharedSchemas;

/// The operations whose handlers take an [`crate::http::body::OptionalBody`]: a request may
/// leave the body out. utoipa marks every declared body required.
const OPTIONAL_BODIES: [&str; 2] = ["approveAccessRequest", "declineAccessRequest"];

/// Marks the bodies of [`OPTIONAL_BODIES`] optional; applied to the finished document.
pub struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                let optional = operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| OPTIONAL_BODIES.contains(&id));
                if let (true, Some(body)) = (optional, operation.request_body.as_mut()) {
                    body.required = Some(utoipa::openapi::Required::False);
                }
            }
        }
    }
}

use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Learning Passport",
        description = "A lifelong training record owned by each member of health and care staff. \
People keep their records and share chosen parts with employers; learning platforms push \
verified completions; employers read what is shared with them.\n\n\
Errors are RFC 9457 problem details (`application/problem+json`). Lists are paginated with \
an opaque `cursor`. Single resources carry an `ETag`; send it back as `If-Match` to change them safely.",
        license(name = "MIT", identifier = "MIT"),
    ),
    // Relative: the service that serves this document (its public URL depends on the host).
    servers((url = "/", description = "The service answering this document")),
    modifiers(&SecuritySchemes),
    components(schemas(crate::completions::CompletionInput, crate::webhooks::WebhookEvent)),
    tags(
        (name = "me", description = "The calling person's profile"),
        (name = "records", description = "A person's own training records"),
        (name = "grants", description = "A person's consents to organisations, and the log of every access"),
        (name = "access-requests", description = "An organisation asks a person for a grant; the person approves (on the terms asked or narrower ones) or declines from their app"),
        (name = "share-codes", description = "Single-use codes a person gives an organisation in person (read aloud, or as a QR code), which the organisation redeems for a grant"),
        (name = "organisations", description = "The directory of organisations, and its administration"),
        (name = "sharing", description = "What people share with the calling organisation"),
        (name = "completions", description = "Learning platforms push, correct and void completions"),
        (name = "activities", description = "The activity catalogue and its refresher periods"),
        (name = "frameworks", description = "Learning-outcomes frameworks, as data"),
        (name = "attainments", description = "A person's evidenced attainment of outcomes, and its verification"),
        (name = "compliance", description = "Employers' requirement profiles and compliance checks of shared passports"),
        (name = "credentials", description = "Verifiable credentials of a passport, their verification and revocation status"),
        (name = "webhooks", description = "Organisations' subscriptions to events, signed as the Standard Webhooks specification describes, and their deliveries"),
        (name = "xapi", description = "An xAPI 1.0.3 Learning Record Store: learning platforms store statements and documents with an organisation client's credentials (HTTP Basic or bearer); completions by people of the passport become issued records under write grants. Every answer of the Statements resource, refusals included, carries `X-Experience-API-Consistent-Through`. Every operation can also be sent in xAPI's alternate request syntax (Communication 1.3): a POST whose only query parameter is `method` (GET, PUT, POST or DELETE), with an `application/x-www-form-urlencoded` body carrying the headers (`Authorization`, `X-Experience-API-Version`, `Content-Type`, `Content-Length`, `If-Match`, `If-None-Match`), the parameters and the body as `content`"),
        (name = "auth", description = "Tokens and keys"),
        (name = "operations", description = "Health, metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A person's token: from the identity provider, or locally from \
                         `learning-passport token person`.",
                    ))
                    .build(),
            ),
        );
        let mut clients = OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
            "/v1/oauth/token",
            Scopes::from_iter([
                (
                    "records:write",
                    "push completions and verify attainments under write grants",
                ),
                (
                    "shared:read",
                    "read shared passports and run compliance checks",
                ),
                (
                    "admin",
                    "the host's administration: every organisation and its clients, frameworks and the catalogue",
                ),
                (
                    "clients:manage",
                    "the organisation's own administration: its own clients, with no more than the caller's scopes",
                ),
            ]),
        ))]);
        clients.description = Some(
            "An organisation client's token from `/v1/oauth/token` (OAuth 2.0 client credentials). \
             The client authenticates there with its id and secret, by HTTP Basic or as \
             `client_id` and `client_secret` form fields (RFC 6749 section 2.3.1)."
                .to_owned(),
        );
        components.add_security_scheme("client_credentials", SecurityScheme::OAuth2(clients));
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "An organisation client's id and secret, for the xAPI Learning Record Store.",
                    ))
                    .build(),
            ),
        );
    }
}
