//! The service as a `did:web` DID, and its DID document.

use serde_json::{Value, json};

use crate::auth::keys::Keys;

/// The service as a `did:web` DID: `https://passport.example.org` is `did:web:passport.example.org`,
/// a port is percent-encoded and path segments become `:`.
pub fn did(public_url: &str) -> String {
    let url = url::Url::parse(public_url).ok();
    let host = url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost")
        .to_owned();
    let port = url
        .as_ref()
        .and_then(|u| u.port())
        .map(|p| format!("%3A{p}"))
        .unwrap_or_default();
    let path: String = url
        .as_ref()
        .map(|u| {
            u.path_segments()
                .map(|s| {
                    s.filter(|x| !x.is_empty())
                        .map(|x| format!(":{x}"))
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    format!("did:web:{host}{port}{path}")
}

/// The DID document of the service: the JWKS keys as `JsonWebKey2020` verification methods.
pub fn did_document(public_url: &str, keys: &Keys) -> Value {
    let did = did(public_url);
    let methods: Vec<Value> = keys
        .jwks()
        .keys
        .into_iter()
        .map(|k| {
            json!({"id": format!("{did}#{}", k.kid), "type": "JsonWebKey2020", "controller": did,
                   "publicKeyJwk": {"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg}})
        })
        .collect();
    let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    })
}
