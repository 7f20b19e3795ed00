//! xAPI's Alternate Request Syntax (Communication 1.3).
//!
//! A client that can send neither headers nor methods other than GET and POST (browsers'
//! cross-domain requests), or whose query would not fit a URL, sends any LRS request as a POST
//! whose query string is `method=<GET|PUT|POST|DELETE>` alone, with a form body
//! (`application/x-www-form-urlencoded`) that carries the headers (`Authorization`,
//! `X-Experience-API-Version`, `Content-Type`, `Content-Length`, `If-Match`, `If-None-Match`),
//! the body as `content`, and every other field as a query parameter.
//!
//! The LRS rewrites such a request into the one it stands for before anything else reads it,
//! so that it is answered exactly as that request would be: by the same route, with the same
//! version check, credentials, parameter checks and limits. Its form is read within the body
//! limit of a direct request, after the rate limit has counted the request by its headers; when
//! the form carries credentials, the request is counted against them too, as if they had come
//! in its headers.

use std::str::FromStr;

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::web::Bytes;

use super::invalid;
use crate::error::Error;
use crate::http::{body, limits, media_type};

/// The form fields read as headers (Communication 1.3.s3.b6), as the specification spells them.
const HEADERS: [&str; 6] = [
    "Authorization",
    "X-Experience-API-Version",
    "Content-Type",
    "Content-Length",
    "If-Match",
    "If-None-Match",
];

/// The form field that carries the body.
const CONTENT: &str = "content";

/// Whether a query string is that of the alternate syntax (it names a `method`), well formed
/// or not: what xAPI 2.0, which has no such syntax, refuses.
pub fn asked(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "method")
}

/// Rewrites a request in the alternate syntax into the request it stands for; leaves any other
/// request as it is. A malformed one is refused (400), and is not answered as anything else.
pub async fn rewrite(req: &mut ServiceRequest) -> Result<(), Error> {
    let Some(method) = asked_method(req.query_string())? else {
        return Ok(());
    };
    if req.method() != Method::POST {
        return Err(invalid(
            "method",
            "is the alternate request syntax, which is sent as a POST",
        ));
    }
    let form = read_form(req).await?;
    let asked = Asked::from_form(method, form)?;
    let credentials = asked.header("Authorization").is_some();
    asked.apply_to(req)?;
    if credentials {
        limits::admit_rewritten(req).await?;
    }
    Ok(())
}

/// The method a query string asks for with `method`; `None` when it has no `method`, as a
/// request in the usual syntax. With `method`, no other query parameter is allowed
/// (Communication 1.3.s3.b3): they belong in the form.
fn asked_method(query: &str) -> Result<Option<Method>, Error> {
    let mut method = None;
    let mut other = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "method" {
            if method.replace(value.into_owned()).is_some() {
                return Err(invalid("method", "is given more than once"));
            }
        } else if other.is_none() {
            other = Some(name.into_owned());
        }
    }
    let Some(method) = method else {
        return Ok(None);
    };
    if let Some(name) = other {
        return Err(invalid(
            name,
            "must be a form field: with the alternate request syntax `method` is the only query parameter",
        ));
    }
    match method.to_ascii_uppercase().as_str() {
        "GET" => Ok(Some(Method::GET)),
        "PUT" => Ok(Some(Method::PUT)),
        "POST" => Ok(Some(Method::POST)),
        "DELETE" => Ok(Some(Method::DELETE)),
        _ => Err(invalid("method", "must be GET, PUT, POST or DELETE")),
    }
}

/// The form of an alternate-syntax request, read within the body limit of any LRS request.
/// It comes as `application/x-www-form-urlencoded`, or with no Content-Type at all (a
/// cross-domain request from an old browser can set none).
async fn read_form(req: &mut ServiceRequest) -> Result<Vec<(String, String)>, Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| media_type::essence(v.to_str().unwrap_or("")));
    let bytes = body::read_in_middleware(req).await?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    match content_type {
        None => {}
        Some(Some(essence)) if essence == "application/x-www-form-urlencoded" => {}
        Some(_) => {
            return Err(invalid(
                "Content-Type",
                "must be application/x-www-form-urlencoded: the alternate request syntax sends its headers, parameters and content as a form",
            ));
        }
    }
    parse_form(&bytes)
}

/// The fields of a form, in order, decoded strictly: the content is UTF-8 text
/// (Communication 1.3.s3.b5), so bytes that are not UTF-8 are refused rather than replaced.
fn parse_form(bytes: &[u8]) -> Result<Vec<(String, String)>, Error> {
    bytes
        .split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)
                .ok_or_else(|| invalid("body", "has a form field name that is not UTF-8 text"))?;
            let value = decode(value).ok_or_else(|| {
                invalid(
                    name.as_str(),
                    "is not UTF-8 text: the alternate request syntax carries no binary data",
                )
            })?;
            Ok((name, value))
        })
        .collect()
}

/// A form-encoded name or value: `+` is a space, `%XX` a byte; `None` unless UTF-8.
fn decode(raw: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).ok()
}

/// The request a form stands for.
#[derive(Debug)]
struct Asked {
    method: Method,
    /// The form's header fields, each named as the specification spells it.
    headers: Vec<(&'static str, String)>,
    /// Every other field: the request's query parameters.
    params: Vec<(String, String)>,
    content: Option<String>,
}

impl Asked {
    fn from_form(method: Method, form: Vec<(String, String)>) -> Result<Asked, Error> {
        let mut asked = Asked {
            method,
            headers: Vec::new(),
            params: Vec::new(),
            content: None,
        };
        for (name, value) in form {
            if name == CONTENT {
                if asked.content.replace(value).is_some() {
                    return Err(invalid(CONTENT, "is given more than once"));
                }
            } else if let Some(header) = HEADERS.iter().find(|h| h.eq_ignore_ascii_case(&name)) {
                if asked.headers.iter().any(|(seen, _)| seen == header) {
                    return Err(invalid(*header, "is given more than once"));
                }
                asked.headers.push((header, value));
            } else {
                asked.params.push((name, value));
            }
        }
        asked.check_content()?;
        Ok(asked)
    }

    /// A PUT or POST sends its body as `content`; a GET or DELETE has none. Attachments cannot
    /// be sent this way: their content is binary.
    fn check_content(&self) -> Result<(), Error> {
        let sends_body = self.method == Method::PUT || self.method == Method::POST;
        match (&self.content, sends_body) {
            (None, true) => Err(invalid(
                CONTENT,
                "is required: with the alternate request syntax the body of a PUT or POST is its `content` form field",
            )),
            (Some(_), false) => Err(invalid(
                CONTENT,
                format!("has no place in a {}, which sends no body", self.method),
            )),
            _ => {
                if self
                    .header("Content-Type")
                    .and_then(media_type::essence)
                    .is_some_and(|essence| essence.starts_with("multipart/"))
                {
                    return Err(invalid(
                        "Content-Type",
                        "cannot be multipart: the alternate request syntax carries text, not attachments; send those in a multipart/mixed request of the usual syntax",
                    ));
                }
                Ok(())
            }
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| *header == name)
            .map(|(_, value)| value.as_str())
    }

    /// Makes `req` the request asked for: its method, query string, headers and body.
    fn apply_to(self, req: &mut ServiceRequest) -> Result<(), Error> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.params)
            .finish();
        let path_and_query = if query.is_empty() {
            req.path().to_owned()
        } else {
            format!("{}?{query}", req.path())
        };
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(
            PathAndQuery::from_str(&path_and_query)
                .map_err(|_| invalid("body", "its fields do not make a request"))?,
        );
        let uri = Uri::from_parts(parts)
            .map_err(|_| invalid("body", "its fields do not make a request"))?;

        let content_type = self.header("Content-Type").map(str::to_owned);
        let headers = req.headers_mut();
        for (name, value) in &self.headers {
            // The length is the content's as received; the form's is only what a client
            // counted (in characters, perhaps).
            if matches!(*name, "Content-Type" | "Content-Length") {
                continue;
            }
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| invalid(*name, "is not a valid header value"))?;
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Internal(format!("`{name}` is not a header name")))?;
            headers.insert(name, value);
        }
        headers.remove(header::TRANSFER_ENCODING);
        let body = match self.content {
            Some(content) => {
                // The content of a request whose Content-Type the client did not say is JSON,
                // as are statements and nearly every document sent this way.
                let content_type = content_type.unwrap_or_else(|| "application/json".to_owned());
                let value = HeaderValue::from_str(content_type.trim())
                    .map_err(|_| invalid("Content-Type", "is not a valid header value"))?;
                headers.insert(header::CONTENT_TYPE, value);
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));
                Bytes::from(content)
            }
            None => {
                headers.remove(header::CONTENT_TYPE);
                headers.remove(header::CONTENT_LENGTH);
                Bytes::new()
            }
        };
        req.head_mut().method = self.method;
        req.head_mut().uri = uri.clone();
        req.match_info_mut().get_mut().update(&uri);
        req.set_payload(Payload::from(body));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_method_parameter_asks_for_the_alternate_syntax() {
        assert_eq!(asked_method("").unwrap(), None);
        assert_eq!(asked_method("statementId=x").unwrap(), None);
        assert_eq!(asked_method("method=PUT").unwrap(), Some(Method::PUT));
        assert_eq!(asked_method("method=get").unwrap(), Some(Method::GET));
        assert!(asked_method("method=PUT&statementId=x").is_err());
        assert!(asked_method("statementId=x&method=PUT").is_err());
        assert!(asked_method("method=PUT&method=PUT").is_err());
        assert!(asked_method("method=PATCH").is_err());
        assert!(asked_method("method=HEAD").is_err());
    }

    #[test]
    fn a_form_is_decoded_strictly() {
        let form = parse_form(b"a=1+2&b=%7B%22x%22%3A%C3%A9%7D&&c&d=").unwrap();
        assert_eq!(
            form,
            [
                ("a".into(), "1 2".into()),
                ("b".into(), "{\"x\":é}".into()),
                ("c".into(), String::new()),
                ("d".into(), String::new()),
            ]
        );
        assert!(parse_form(b"content=%FF%FE").is_err());
    }

    #[test]
    fn headers_parameters_and_content_are_told_apart() {
        let form = vec![
            ("statementId".into(), "x".into()),
            ("authorization".into(), "Basic abc".into()),
            ("X-Experience-API-Version".into(), "1.0.3".into()),
            ("content".into(), "{}".into()),
        ];
        let asked = Asked::from_form(Method::PUT, form).unwrap();
        assert_eq!(asked.params, [("statementId".to_owned(), "x".to_owned())]);
        assert_eq!(asked.header("Authorization"), Some("Basic abc"));
        assert_eq!(asked.content.as_deref(), Some("{}"));
        // A PUT needs its content; a GET has none.
        assert!(Asked::from_form(Method::PUT, vec![]).is_err());
        assert!(Asked::from_form(Method::GET, vec![("content".into(), "{}".into())]).is_err());
        // Attachments cannot come this way.
        let multipart = vec![
            ("Content-Type".into(), "multipart/mixed; boundary=x".into()),
            ("content".into(), "--x--".into()),
        ];
        assert!(Asked::from_form(Method::POST, multipart).is_err());
    }
}
