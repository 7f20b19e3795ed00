//! `/v1/webhooks`: an organisation's subscriptions and their deliveries.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};

use super::model::*;
use crate::auth::OrgCaller;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, PageRequest};

fn tag(webhook: &Webhook) -> (header::HeaderName, String) {
    (header::ETAG, etag::of(webhook.id, webhook.version))
}

/// The caller's organisation's webhook subscriptions, newest first.
#[utoipa::path(
    operation_id = "listWebhooks",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(PageRequest),
    responses(
        (status = 200, description = "A page of subscriptions", body = List<Webhook>),
    )
)]
#[get("/v1/webhooks")]
pub async fn list(
    org: OrgCaller,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let subscriptions = state
        .db
        .run(move |conn| super::subscriptions::list(conn, org.organisation_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(subscriptions))
}

/// Subscribe to events. The URL must be https on a public address. The answer holds the
/// signing secret, shown only this once: each request is signed as the Standard Webhooks
/// specification describes (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
#[utoipa::path(
    operation_id = "createWebhook",
    tag = "webhooks",
    security(("client_credentials" = [])),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "The subscription, with its secret", body = CreatedWebhook, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The organisation has the most subscriptions it may have", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: a URL that is not https or points at a private address, no event types", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/webhooks")]
pub async fn create(
    org: OrgCaller,
    body: Body<WebhookInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (settings, seal) = (
        state.settings.webhooks.clone(),
        state.webhook_secrets.clone(),
    );
    let created = state
        .db
        .run(move |conn| {
            super::subscriptions::create(conn, org.organisation_id, body.0, &settings, &seal)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/webhooks/{}", created.webhook.id),
        ))
        .insert_header(tag(&created.webhook))
        .json(created))
}

/// One of the caller's organisation's subscriptions.
#[utoipa::path(
    operation_id = "getWebhook",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(("id" = uuid::Uuid, Path, description = "The subscription id")),
    responses(
        (status = 200, description = "The subscription", body = Webhook, headers(("ETag" = String))),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/webhooks/{id}")]
pub async fn get_one(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let subscription = state
        .db
        .run(move |conn| super::subscriptions::get(conn, org.organisation_id, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(tag(&subscription))
        .json(subscription))
}

/// Change a subscription's URL, event types, description, or pause and resume it. Honours
/// `If-Match`.
#[utoipa::path(
    operation_id = "updateWebhook",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The subscription id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the subscription has changed since"),
    ),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The subscription", body = Webhook, headers(("ETag" = String))),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/webhooks/{id}")]
pub async fn update(
    req: HttpRequest,
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    body: Body<WebhookPatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let settings = state.settings.webhooks.clone();
    let precondition = Precondition::from_request(&req);
    let subscription = state
        .db
        .run(move |conn| {
            super::subscriptions::update(
                conn,
                org.organisation_id,
                id,
                body.0,
                &settings,
                &precondition,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(tag(&subscription))
        .json(subscription))
}

/// Delete a subscription and its deliveries log; nothing more is sent to it. Honours
/// `If-Match`.
#[utoipa::path(
    operation_id = "deleteWebhook",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The subscription id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the subscription has changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/webhooks/{id}")]
pub async fn remove(
    req: HttpRequest,
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    state
        .db
        .run(move |conn| super::subscriptions::delete(conn, org.organisation_id, id, &precondition))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret. The new one is shown only this once; the previous one keeps
/// signing alongside it (a second `v1,` signature) for the grace period, so that the receiver
/// can switch without missing a message.
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(("id" = uuid::Uuid, Path, description = "The subscription id")),
    responses(
        (status = 200, description = "The new secret", body = RotatedSecret),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/webhooks/{id}/rotate")]
pub async fn rotate(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let (settings, seal) = (
        state.settings.webhooks.clone(),
        state.webhook_secrets.clone(),
    );
    let rotated = state
        .db
        .run(move |conn| {
            super::subscriptions::rotate(conn, org.organisation_id, id, &settings, &seal)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

/// Send a `webhook.test` event to the subscription now, whatever its event types, to check
/// the receiver and its signature verification. It appears in the deliveries log like any other.
/// Tests and re-sends together are limited to 10 a minute per subscription (a burst of 5), and
/// refused while 100 or more deliveries wait for the subscription.
#[utoipa::path(
    operation_id = "testWebhook",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(("id" = uuid::Uuid, Path, description = "The subscription id")),
    responses(
        (status = 202, description = "Queued", body = Delivery),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is paused, or 100 or more deliveries already wait for it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many tests and re-sends for this subscription (or requests from this client): retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    )
)]
#[post("/v1/webhooks/{id}/test")]
pub async fn test(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let sends = state.webhook_sends.clone();
    let delivery = state
        .db
        .run(move |conn| super::deliveries::test(conn, org.organisation_id, id, &sends))
        .await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

/// A subscription's deliveries, newest first: each event sent or to be sent, with every attempt
/// (time, duration, status code or error, and an excerpt of the answer).
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(("id" = uuid::Uuid, Path, description = "The subscription id"), DeliveryFilter, PageRequest),
    responses(
        (status = 200, description = "A page of deliveries", body = List<Delivery>),
        (status = 404, description = "No such subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/webhooks/{id}/deliveries")]
pub async fn deliveries(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    filter: Query<DeliveryFilter>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let page = page.0.parse()?;
    let found = state
        .db
        .run(move |conn| super::deliveries::list(conn, org.organisation_id, id, &filter.0, page))
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Send a delivered or failed delivery again, now, with a fresh retry period. It keeps its
/// `webhook-id`, so a receiver that already processed it can tell. Counts against the same
/// limits as tests.
#[utoipa::path(
    operation_id = "resendWebhookDelivery",
    tag = "webhooks",
    security(("client_credentials" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The subscription id"),
        ("delivery_id" = uuid::Uuid, Path, description = "The delivery id (its `webhook-id`)"),
    ),
    responses(
        (status = 202, description = "Queued", body = Delivery),
        (status = 404, description = "No such delivery of a subscription of the caller's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is still pending, its content was erased with its person, or 100 or more deliveries already wait for the subscription", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many tests and re-sends for this subscription (or requests from this client): retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    )
)]
#[post("/v1/webhooks/{id}/deliveries/{delivery_id}/resend")]
pub async fn resend(
    org: OrgCaller,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (id, delivery_id) = path.into_inner();
    let sends = state.webhook_sends.clone();
    let delivery = state
        .db
        .run(move |conn| {
            super::deliveries::resend(
                conn,
                org.organisation_id,
                id.into(),
                delivery_id.into(),
                &sends,
            )
        })
        .await?;
    Ok(HttpResponse::Accepted().json(delivery))
}
