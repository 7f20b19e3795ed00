//! Requests in xAPI's alternate request syntax (Communication 1.3): a POST whose only query
//! parameter is `method`, with the headers, parameters and content in its form body.

use base64::Engine;

use super::xapi::{Lrs, VERSION};
use super::{Reply, TestApp};

/// A form body, application/x-www-form-urlencoded.
pub fn encoded(form: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
        .into_bytes()
}

/// Sends `POST /xapi{path}?method={method}` with `form` as its form body and `headers` as HTTP
/// headers (none by default: a browser's cross-domain request can set none).
pub async fn alternate(
    app: &TestApp,
    path: &str,
    method: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = app
        .http
        .post(app.url(&format!("/xapi{path}?method={method}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encoded(form));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::from(request.send().await.unwrap()).await
}

/// The `Authorization` value of a client's Basic credentials.
pub fn basic(lrs: &Lrs) -> String {
    let pair = format!("{}:{}", lrs.client.client_id, lrs.client.client_secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `fields` after the credentials `auth` and the version header, as form fields.
pub fn with_headers<'a>(auth: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("Authorization", auth),
        ("X-Experience-API-Version", VERSION),
    ];
    form.extend_from_slice(fields);
    form
}

/// Borrowed fields of owned values.
pub fn borrowed<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(n, v)| (*n, v.as_str())).collect()
}
