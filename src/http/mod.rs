//! The HTTP layer: the state handlers reach, the routes and the server; request ids, logging,
//! metrics, bodies, pagination, ETags, fallbacks, docs.

pub mod body;
pub mod client_address;
pub mod docs;
pub mod etag;
pub mod fallback;
pub mod health;
pub mod json_time;
pub mod limits;
pub mod logging;
pub mod media_type;
pub mod metrics;
pub mod pagination;
pub mod patch;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod server;
mod state;

use actix_web::{HttpRequest, error::PathError, web};

pub use state::AppState;

use crate::error::Error;

/// A malformed id in a path names no resource: 404, as for an id that does not exist.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_: PathError, req: &HttpRequest| {
        Error::NotFound(format!("no resource at {}", req.path())).into()
    })
}
