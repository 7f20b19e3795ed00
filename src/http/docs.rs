//! The interactive API documentation page, served from assets compiled into the binary.

use actix_web::{HttpResponse, get, http::header};
use utoipa_swagger_ui::SwaggerUi;

/// The docs page at `/docs/`, reading the document at `/openapi.json`.
pub fn swagger_ui(doc: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc)
}

/// `/docs` without the trailing slash.
#[get("/docs")]
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
