//! An LRS client as learning platforms configure one: the endpoint and an organisation
//! client's id and secret, sent as HTTP Basic with every request, with the xAPI version header.

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{Method, OrgClient, Reply, TestApp};

/// The version header every request carries.
pub const VERSION: &str = "1.0.3";

/// An organisation's LRS credentials.
#[derive(Debug, Clone)]
pub struct Lrs {
    pub client: OrgClient,
    pub version: Option<String>,
}

impl Lrs {
    /// A new organisation whose client may store statements (`records:write`).
    pub async fn new(app: &TestApp, name: &str) -> Lrs {
        Lrs::with_scopes(app, name, "records:write").await
    }

    pub async fn with_scopes(app: &TestApp, name: &str, scopes: &str) -> Lrs {
        Lrs {
            client: app.org(name, scopes).await,
            version: Some(VERSION.into()),
        }
    }

    /// Sends a request to `/xapi{path}` with Basic credentials, the version header and any
    /// extra headers; a JSON body is sent as application/json.
    pub async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Reply {
        let mut request = app
            .http
            .request(method, app.url(&format!("/xapi{path}")))
            .basic_auth(&self.client.client_id, Some(&self.client.client_secret));
        if let Some(version) = &self.version {
            request = request.header("X-Experience-API-Version", version);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => request.header("Content-Type", content_type).body(bytes),
            None => request,
        };
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Method::GET, path, &[], None).await
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> Reply {
        self.send(app, Method::POST, path, &[], Some(Body::Json(body)))
            .await
    }

    pub async fn put(&self, app: &TestApp, path: &str, body: Value) -> Reply {
        self.send(app, Method::PUT, path, &[], Some(Body::Json(body)))
            .await
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Method::DELETE, path, &[], None).await
    }

    /// Stores statements by POST and answers their ids, asserting success.
    pub async fn store(&self, app: &TestApp, statements: Value) -> Vec<String> {
        let reply = self.post(app, "/statements", statements).await;
        reply.expect(200);
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// A query parameter value, percent-encoded (JSON agents go in query strings).
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The statements of a query answer.
pub fn statements(reply: &Reply) -> Vec<Value> {
    reply.body["statements"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The headers of a reply, for assertions on xAPI's headers.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A minimal valid statement by `mbox` doing `verb` to activity `activity`.
pub fn statement(mbox: &str, verb: &str, activity: &str) -> Value {
    serde_json::json!({
        "actor": { "objectType": "Agent", "mbox": format!("mailto:{mbox}") },
        "verb": { "id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": { "en-US": verb } },
        "object": { "objectType": "Activity", "id": activity },
    })
}
