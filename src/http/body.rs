//! Request bodies and query strings, read so that every mistake names its field.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::media_type;
use crate::error::{Error, FieldError};

/// The largest request body accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The largest batch body accepted (a push of up to 1,000 completions), in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimit(pub usize);

/// A size limit set in the application's data, with its default.
trait Limit: 'static {
    const DEFAULT: usize;
    fn bytes(&self) -> usize;
}

impl Limit for BodyLimit {
    const DEFAULT: usize = 1 << 20;
    fn bytes(&self) -> usize {
        self.0
    }
}

impl Limit for BatchLimit {
    const DEFAULT: usize = 8 << 20;
    fn bytes(&self) -> usize {
        self.0
    }
}

fn limit<L: Limit>(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<L>>()
        .map_or(L::DEFAULT, |limit| limit.bytes())
}

/// A JSON request body (`application/json` or any `+json` type).
///
/// Unlike `web::Json`, a body that does not fit the type is answered with the dotted path of the
/// offending field, and an oversized one with 413 before it is read in full.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_json(req, payload, limit::<BodyLimit>(req));
        Box::pin(async move { read.await.map(Body) })
    }
}

/// A JSON body that may be left out: a request with no body (and no `Content-Type`) reads as
/// the type's default; one with a body is read as [`Body`] reads it.
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalBody<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            let read = read_json(req, payload, limit::<BodyLimit>(req));
            return Box::pin(async move { read.await.map(OptionalBody) });
        }
        // No Content-Type: the body must be empty (however it is framed, chunked included),
        // never a body read as if it were absent.
        let (declared, limit) = (declared_length(req), limit::<BodyLimit>(req));
        let mut payload = payload.take();
        Box::pin(async move {
            if read_limited(&mut payload, declared, limit)
                .await?
                .is_empty()
            {
                Ok(OptionalBody(T::default()))
            } else {
                Err(Error::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ))
            }
        })
    }
}

/// A JSON batch body, allowed to be larger than other bodies ([`BatchLimit`]).
#[derive(Debug)]
pub struct BatchBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for BatchBody<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_json(req, payload, limit::<BatchLimit>(req));
        Box::pin(async move { read.await.map(BatchBody) })
    }
}

type Reading<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

/// Reads a JSON body of at most `limit` bytes.
fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Reading<T> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(media_type::essence);
    let declared_length = declared_length(req);
    let mut payload = payload.take();
    Box::pin(async move {
        match content_type.as_deref() {
            Some("application/json") => {}
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
            _ => {
                return Err(Error::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
        }
        let body = read_limited(&mut payload, declared_length, limit).await?;
        parse_json(&body)
    })
}

/// The Content-Length a request declares, if any.
fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a whole body of at most `limit` bytes: 413 as soon as it is known to be larger.
async fn read_limited(
    payload: &mut Payload,
    declared_length: Option<usize>,
    limit: usize,
) -> Result<BytesMut, Error> {
    let too_large = || Error::PayloadTooLarge(format!("the body may be at most {limit} bytes"));
    if declared_length.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest {
            detail: format!("could not read the body: {e}"),
            field: None,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The whole body of a request still in the middleware, read up to the batch limit
/// ([`BatchLimit`]) as [`RawBody`] reads one: 413 as soon as it is known to be larger.
pub async fn read_in_middleware(req: &mut ServiceRequest) -> Result<web::Bytes, Error> {
    let limit = limit::<BatchLimit>(req.request());
    let declared_length = declared_length(req.request());
    let mut payload = req.take_payload();
    Ok(read_limited(&mut payload, declared_length, limit)
        .await?
        .freeze())
}

/// Parses a JSON object into a type, naming the field at fault.
///
/// Every request body is a JSON object; serde would also read a struct from an array of its
/// fields in order, which no client means and the API does not document, so anything but an
/// object is refused before it is read.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => return Err(Error::invalid("body", "must be a JSON object")),
        None => {
            return Err(Error::BadRequest {
                detail: "the body is empty: send a JSON object".into(),
                field: None,
            });
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        field_error(&path, inner)
    })?;
    deserializer.end().map_err(|e| Error::BadRequest {
        detail: format!("malformed JSON: {e}"),
        field: None,
    })?;
    Ok(value)
}

/// For a field holding a struct: reads it only from a JSON object (or `null`), never from an
/// array of its fields in order, as serde otherwise would (`#[serde(default, deserialize_with =
/// "object_only")]`).
pub fn object_only<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    use serde::de::Error as _;
    match serde_json::Value::deserialize(deserializer)? {
        value @ (serde_json::Value::Object(_) | serde_json::Value::Null) => {
            T::deserialize(value).map_err(D::Error::custom)
        }
        _ => Err(D::Error::custom("must be a JSON object")),
    }
}

fn field_error(path: &str, error: serde_json::Error) -> Error {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => Error::BadRequest {
            detail: format!("malformed JSON: {error}"),
            field: None,
        },
        Category::Data => {
            let message = strip_position(&error.to_string());
            // serde reports a missing field at the enclosing object: name the field itself.
            // (An unknown field's path already ends with its name.)
            let named = quoted_name(&message, "missing field `");
            let field = match (named, path) {
                (Some(name), "." | "") => name,
                (Some(name), parent) => format!("{parent}.{name}"),
                (None, "." | "") => "body".to_owned(),
                (None, path) => path.to_owned(),
            };
            Error::Validation(vec![FieldError::new(field, message)])
        }
    }
}

fn quoted_name(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next().map(str::to_owned)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string, parsed so that a bad parameter is named.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = quoted_name(&message, "missing field `")
            .or_else(|| quoted_name(&message, "unknown field `"))
            .unwrap_or_else(|| if path == "." { "query".into() } else { path });
        Error::Validation(vec![FieldError::new(field, message)])
    })
}

/// A body of any media type, read whole up to the batch limit ([`BatchLimit`]): for resources
/// whose bodies are not this API's JSON (xAPI statements with attachments, xAPI documents).
#[derive(Debug)]
pub struct RawBody {
    /// The Content-Type as sent ("" when none).
    pub content_type: String,
    pub bytes: web::Bytes,
}

impl FromRequest for RawBody {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = limit::<BatchLimit>(req);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let declared_length = declared_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_limited(&mut payload, declared_length, limit).await?;
            Ok(RawBody {
                content_type,
                bytes: body.freeze(),
            })
        })
    }
}
