//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::http::AppState;

/// Health status.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: &'static str,
    /// The database backend in use: `sqlite` or `postgresql`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness: the process answers HTTP. Never touches the database.
#[utoipa::path(operation_id = "getLiveness", tag = "operations", security(), responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers. A load balancer should send traffic only while this is 200.
#[utoipa::path(operation_id = "getReadiness", tag = "operations", security(), responses(
    (status = 200, description = "Ready to serve", body = Health),
    (status = 503, description = "The database is not reachable", body = crate::error::Problem, content_type = "application/problem+json"),
))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    if state.db.ping().await {
        Ok(HttpResponse::Ok().json(Health {
            status: "ok",
            database: Some(state.db.kind().name()),
        }))
    } else {
        Err(Error::Unavailable("readiness check failed".into()))
    }
}
