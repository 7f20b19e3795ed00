//! `/v1/me/access-events`.

use actix_web::{HttpResponse, get, web};

use super::{AccessEvent, AccessFilter};
use crate::auth::Me;
use crate::error::Error;
use crate::http::AppState;
use crate::http::body::Query;
use crate::http::pagination::{List, PageRequest};

/// Who accessed the caller's passport: every organisation request that touched it, allowed or
/// refused, newest first.
#[utoipa::path(
    operation_id = "listMyAccessEvents",
    tag = "grants",
    security(("bearer" = [])),
    params(PageRequest, AccessFilter),
    responses(
        (status = 200, description = "A page of access events", body = List<AccessEvent>),
    )
)]
#[get("/v1/me/access-events")]
pub async fn list(
    me: Me,
    page: Query<PageRequest>,
    filter: Query<AccessFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let list = state
        .db
        .run(move |conn| super::list(conn, me.person_id, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
