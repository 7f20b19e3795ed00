//! Every route of the API, and the OpenAPI document they describe.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::{
    access, access_requests, activities, attainments, auth, completions, compliance, credentials,
    frameworks, grants, http, openapi as doc, organisations, people, records, share_codes, sharing,
    webhooks, xapi,
};

/// Every API route. Registered with `service(...)` so that each lands in the OpenAPI document;
/// one function per group of routes, registered in this order.
pub fn api(cfg: &mut ServiceConfig) {
    tokens_and_people(cfg);
    records_and_grants(cfg);
    organisations_and_sharing(cfg);
    learning(cfg);
    compliance_and_credentials(cfg);
    webhook_subscriptions(cfg);
    xapi_lrs(cfg);
    operations(cfg);
}

/// Tokens and the signing keys, and the person calling.
fn tokens_and_people(cfg: &mut ServiceConfig) {
    cfg.service(auth::handlers::token)
        .service(auth::handlers::jwks)
        .service(people::handlers::get_me)
        .service(people::handlers::patch_me);
}

/// A person's records, the grants and share codes they make, the access requests they answer,
/// and who has read their passport.
fn records_and_grants(cfg: &mut ServiceConfig) {
    cfg.service(records::handlers::list)
        .service(records::handlers::create)
        .service(records::handlers::get_one)
        .service(records::handlers::update)
        .service(records::handlers::remove)
        .service(grants::handlers::list)
        .service(grants::handlers::create)
        .service(grants::handlers::get_one)
        .service(grants::handlers::revoke)
        .service(share_codes::handlers::list)
        .service(share_codes::handlers::create)
        .service(share_codes::handlers::get_one)
        .service(share_codes::handlers::revoke)
        .service(access_requests::handlers::list_mine)
        .service(access_requests::handlers::get_mine)
        .service(access_requests::handlers::approve)
        .service(access_requests::handlers::decline)
        .service(access_requests::handlers::blocked)
        .service(access_requests::handlers::block)
        .service(access_requests::handlers::unblock)
        .service(access::handlers::list);
}

/// Organisations and their clients, what people share with them, and what they ask for.
fn organisations_and_sharing(cfg: &mut ServiceConfig) {
    cfg.service(organisations::handlers::directory)
        .service(organisations::handlers::create)
        .service(organisations::handlers::get_one)
        .service(organisations::handlers::clients)
        .service(organisations::handlers::add_client)
        .service(organisations::handlers::revoke_client)
        .service(grants::handlers::received)
        .service(share_codes::handlers::redeem)
        .service(access_requests::handlers::create)
        .service(access_requests::handlers::list)
        .service(access_requests::handlers::get_one)
        .service(access_requests::handlers::cancel)
        .service(sharing::handlers::records)
        .service(sharing::handlers::record)
        .service(sharing::handlers::attainments);
}

/// Completions pushed by learning platforms, the activity catalogue, frameworks and attainments.
fn learning(cfg: &mut ServiceConfig) {
    cfg.service(completions::handlers::push)
        .service(completions::handlers::correct)
        .service(completions::handlers::void)
        .service(completions::handlers::history)
        .service(activities::handlers::list)
        .service(activities::handlers::put)
        .service(frameworks::handlers::list)
        .service(frameworks::handlers::get_one)
        .service(frameworks::handlers::publish)
        .service(attainments::handlers::list)
        .service(attainments::handlers::create)
        .service(attainments::handlers::get_one)
        .service(attainments::handlers::update)
        .service(attainments::handlers::remove)
        .service(attainments::handlers::verify)
        .service(attainments::handlers::progress);
}

/// Requirement profiles and compliance, verifiable credentials, and a person's export and erasure.
fn compliance_and_credentials(cfg: &mut ServiceConfig) {
    cfg.service(compliance::handlers::list)
        .service(compliance::handlers::create)
        .service(compliance::handlers::get_one)
        .service(compliance::handlers::replace)
        .service(compliance::handlers::remove)
        .service(compliance::handlers::check)
        .service(compliance::handlers::worklist)
        .service(credentials::handlers::issue)
        .service(credentials::handlers::list)
        .service(credentials::handlers::get)
        .service(credentials::handlers::revoke)
        .service(credentials::handlers::verify)
        .service(credentials::handlers::status_list)
        .service(credentials::handlers::did_document)
        .service(credentials::handlers::did_document_at_path)
        .service(credentials::handlers::organisation_did_document)
        .service(credentials::handlers::passport_context)
        .service(people::handlers::export)
        .service(people::handlers::erase);
}

/// Organisations' webhook subscriptions and their deliveries.
fn webhook_subscriptions(cfg: &mut ServiceConfig) {
    cfg.service(webhooks::handlers::list)
        .service(webhooks::handlers::create)
        .service(webhooks::handlers::get_one)
        .service(webhooks::handlers::update)
        .service(webhooks::handlers::remove)
        .service(webhooks::handlers::rotate)
        .service(webhooks::handlers::test)
        .service(webhooks::handlers::deliveries)
        .service(webhooks::handlers::resend);
}

/// The xAPI LRS: statements, documents, activities and agents.
fn xapi_lrs(cfg: &mut ServiceConfig) {
    cfg.service(xapi::handlers::resources::about)
        .service(xapi::handlers::statements::put)
        .service(xapi::handlers::statements::post)
        .service(xapi::handlers::statements::get)
        .service(xapi::handlers::documents::put_state)
        .service(xapi::handlers::documents::post_state)
        .service(xapi::handlers::documents::get_state)
        .service(xapi::handlers::documents::delete_state)
        .service(xapi::handlers::documents::put_activity_profile)
        .service(xapi::handlers::documents::post_activity_profile)
        .service(xapi::handlers::documents::get_activity_profile)
        .service(xapi::handlers::documents::delete_activity_profile)
        .service(xapi::handlers::documents::put_agent_profile)
        .service(xapi::handlers::documents::post_agent_profile)
        .service(xapi::handlers::documents::get_agent_profile)
        .service(xapi::handlers::documents::delete_agent_profile)
        .service(xapi::handlers::resources::activity)
        .service(xapi::handlers::resources::agent);
}

/// Health and metrics.
fn operations(cfg: &mut ServiceConfig) {
    cfg.service(http::health::live)
        .service(http::health::ready)
        .service(http::metrics::export);
}

/// The OpenAPI document the code describes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(doc::ApiDoc::openapi())
        .configure(api)
        .split_for_parts();
    // Applied to the finished document: the routes' operations and their schemas exist only now.
    utoipa::Modify::modify(&doc::SharedSchemas, &mut doc);
    utoipa::Modify::modify(&doc::StandardResponses, &mut doc);
    utoipa::Modify::modify(&doc::OptionalBodies, &mut doc);
    doc
}
