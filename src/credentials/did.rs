//! The service as a `did:web` DID, and its DID document.

use super::model::{DidDocument, DidPublicKey, VerificationMethod};
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

/// An organisation as it is known to the passport: a `did:web` under the service's
/// (`did:web:passport.example.org:organisations:{id}`), resolved at
/// `{public URL}/organisations/{id}/did.json`. The service signs what the passport holds of
/// the organisation's issuing, so the DID's keys are the service's, and the service controls it.
pub fn organisation_did(public_url: &str, organisation_id: uuid::Uuid) -> String {
    format!("{}:organisations:{organisation_id}", did(public_url))
}

/// The organisation a DID names, if it is one of [`organisation_did`]'s.
pub fn organisation_of(public_url: &str, candidate: &str) -> Option<uuid::Uuid> {
    candidate
        .strip_prefix(&format!("{}:organisations:", did(public_url)))
        .and_then(|id| {
            uuid::Uuid::parse_str(id)
                .ok()
                .filter(|u| u.to_string() == id)
        })
}

/// The DID document of the service: the JWKS keys as `JsonWebKey2020` verification methods.
pub fn did_document(public_url: &str, keys: &Keys) -> DidDocument {
    document_of(did(public_url), did(public_url), keys)
}

/// The DID document of an organisation as the passport knows it: the service's keys, under the
/// service's control.
pub fn organisation_did_document(
    public_url: &str,
    organisation_id: uuid::Uuid,
    keys: &Keys,
) -> DidDocument {
    let organisation = organisation_did(public_url, organisation_id);
    let mut document = document_of(organisation.clone(), organisation, keys);
    // The service controls the DID; the keys only assert what it issues for the organisation.
    document.controller = Some(did(public_url));
    document.authentication.clear();
    document
}

fn document_of(did: String, controller: String, keys: &Keys) -> DidDocument {
    let methods: Vec<VerificationMethod> = keys
        .jwks()
        .keys
        .into_iter()
        .map(|k| VerificationMethod {
            id: format!("{did}#{}", k.kid),
            method_type: "JsonWebKey2020".to_owned(),
            controller: controller.clone(),
            public_key_jwk: DidPublicKey {
                kty: k.kty.to_owned(),
                crv: k.crv.to_owned(),
                x: k.x,
                kid: k.kid,
                alg: k.alg.to_owned(),
            },
        })
        .collect();
    let ids: Vec<String> = methods.iter().map(|m| m.id.clone()).collect();
    DidDocument {
        context: vec![
            "https://www.w3.org/ns/did/v1".to_owned(),
            "https://w3id.org/security/suites/jws-2020/v1".to_owned(),
        ],
        id: did,
        controller: None,
        verification_method: methods,
        assertion_method: ids.clone(),
        authentication: ids,
    }
}
