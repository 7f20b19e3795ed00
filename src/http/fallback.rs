//! Answers for requests no route takes: 405 with `Allow` when the path exists under another
//! method, 404 otherwise; both as problem details. The route table comes from the OpenAPI
//! document, so it cannot drift from the routes themselves.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::Error;

/// Every documented path with the methods it answers.
pub struct RouteTable(Vec<(ResourceDef, Vec<String>)>);

impl RouteTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| m.to_owned())
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, m)| m.as_slice())
    }
}

pub async fn not_found(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, Error> {
    Err(match routes.allowed(req.path()) {
        Some(methods) if !methods.is_empty() => Error::MethodNotAllowed(methods.to_vec()),
        _ => Error::NotFound(format!("no resource at {}", req.path())),
    })
}
