//! Requests as a client sends them, the replies read, and assertions on them.

use serde_json::Value;

use super::{Method, StatusCode, TestApp};

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body; answers status, headers
    /// and the body as JSON (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends one request per body at once, each with `If-Match: etag`, as several apps that
    /// read the same version would; answers the replies in the order of the bodies.
    pub async fn racing(
        &self,
        method: Method,
        path: &str,
        token: &str,
        etag: &str,
        bodies: Vec<Option<Value>>,
    ) -> Vec<Reply> {
        let requests = bodies.into_iter().map(|body| {
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token)
                .header("if-match", etag);
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move { Reply::from(request.send().await.unwrap()).await }
        });
        futures_util::future::join_all(requests).await
    }
}

/// Asserts that of several writers holding one ETag exactly one won and every other was
/// answered 412.
#[track_caller]
pub fn exactly_one_wins(replies: &[Reply], success: u16) {
    let won = replies.iter().filter(|r| r.status == success).count();
    let stale = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (won, stale),
        (1, replies.len() - 1),
        "one writer wins, the others are refused: {:?}",
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
}

/// Waits (up to ten seconds) until `check` holds, for what the service writes a moment after
/// it answers (refused accesses in the access log, webhook deliveries).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A response, read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {:#}",
            self.body
        );
        self
    }

    /// Asserts a problem details answer naming `field`.
    #[track_caller]
    pub fn expect_field_error(&self, status: u16, field: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let fields: Vec<&str> = self.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "expected an error naming `{field}`, got {:#}",
            self.body
        );
        self
    }

    /// Asserts a problem details answer.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {:#}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:learning-passport:problem:"))
        );
        assert!(self.body["detail"].is_string());
        self
    }
}
