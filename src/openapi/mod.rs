//! The OpenAPI document: the parts no handler declares (info, security schemes, tags).

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
        license(name = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::completions::CompletionInput, crate::webhooks::WebhookEvent)),
    tags(
        (name = "me", description = "The calling person's profile"),
        (name = "records", description = "A person's own training records"),
        (name = "grants", description = "A person's consents to organisations, and the log of every access"),
        (name = "organisations", description = "The directory of organisations, and its administration"),
        (name = "sharing", description = "What people share with the calling organisation"),
        (name = "completions", description = "Learning platforms push, correct and void completions"),
        (name = "activities", description = "The activity catalogue and its refresher periods"),
        (name = "frameworks", description = "Learning-outcomes frameworks, as data"),
        (name = "attainments", description = "A person's evidenced attainment of outcomes, and its verification"),
        (name = "compliance", description = "Employers' requirement profiles and compliance checks of shared passports"),
        (name = "credentials", description = "Verifiable credentials of a passport, their verification and revocation status"),
        (name = "webhooks", description = "Organisations' subscriptions to events, signed as the Standard Webhooks specification describes, and their deliveries"),
        (name = "xapi", description = "An xAPI 1.0.3 Learning Record Store: learning platforms store statements and documents with an organisation client's credentials (HTTP Basic or bearer); completions by people of the passport become issued records under write grants"),
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
                        "A person's token (from the identity provider, or `learning-passport token person` locally), \
                         or an organisation client's token from `/v1/oauth/token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_credentials",
            SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(
                ClientCredentials::new(
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
                ),
            )])),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("client id and secret"))
                    .build(),
            ),
        );
    }
}

/// The answers any operation can give besides its own: documented once, here, so that the
/// document and the middleware cannot disagree. Problem details for a malformed or oversized
/// body, a body that is not JSON, invalid query parameters, a missing or bad token, and the
/// rate limit.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Probes and scrapers are never rate limited.
            let limited = !path.starts_with("/health/") && path != "/metrics";
            let lrs = path.starts_with("/xapi/");
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                };
                // xAPI answers every malformed request with 400, as its specification says.
                let invalid = if lrs { "400" } else { "422" };
                if operation.request_body.is_some() {
                    add("400", "Malformed body");
                    add("413", "Body too large");
                    add("415", "Body of an unsupported media type");
                    add(invalid, "Invalid fields");
                }
                let has_query = operation
                    .parameters
                    .as_ref()
                    .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
                if has_query {
                    add(invalid, "Invalid query parameters");
                }
                let secured = operation.security.as_ref().is_some_and(|s| {
                    s.iter()
                        .any(|r| r != &utoipa::openapi::security::SecurityRequirement::default())
                });
                if secured {
                    add("401", "No valid token");
                }
                if limited {
                    add("429", "Too many requests from this client; see Retry-After");
                }
            }
        }
    }
}
