//! Verification of signed statements (xAPI 1.0.3, Data 2.6).
//!
//! The spec makes the LRS check that a signature is *well formed*, not that the signer is
//! trustworthy (2.6.s5 note): the JWS must decode, use an RSA + SHA algorithm, carry the
//! statement as its payload, and — only when an X.509 chain is included — verify against it.
//! Whether the certificate chains to anything trusted is deliberately left to the caller.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::equivalence::difference;
use crate::error::FieldError;

/// OID of `rsaEncryption`; any other key type cannot have produced an RS* signature.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Checks a signature attachment (a JWS in compact serialisation) against the statement that
/// carries it, as xAPI 1.0.3 2.6 requires: well-formed JWS; alg one of RS256, RS384, RS512; the
/// payload decodes to a statement logically equivalent to the received one (Data 2.3.1
/// "Statement Comparison Requirements": `authority`, `stored` and `attachments` are ignored,
/// `id`, `version` and `timestamp` only when one side lacks them, timestamps compare as
/// instants, verb `display` and Activity `definition`s are ignored, Group members are
/// unordered, e-mail domains and UUIDs are case-insensitive); when the JWS header carries an
/// x5c certificate chain, the signature verifies with the first certificate's public key.
pub fn verify(statement: &Value, jws: &[u8]) -> Result<(), FieldError> {
    let text = std::str::from_utf8(jws)
        .map_err(|_| FieldError::new("signature", "is not text, so it cannot be a JWS"))?
        // A trailing newline is a common artefact of writing the JWS to a file.
        .trim();
    if text.starts_with('{') {
        return Err(FieldError::new(
            "signature",
            "uses the JWS JSON serialization; only the compact serialization is accepted",
        ));
    }
    let mut pieces = text.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(FieldError::new(
            "signature",
            "is not a JWS in compact serialization (expected three parts separated by dots)",
        ));
    };

    let header = decode_object(header_b64).ok_or_else(|| {
        FieldError::new(
            "signature",
            "has a header that is not base64url-encoded JSON",
        )
    })?;
    let algorithm = algorithm_of(&header)?;

    let payload = decode_object(payload_b64).ok_or_else(|| {
        FieldError::new(
            "signature.payload",
            "is not a base64url-encoded JSON statement",
        )
    })?;
    if signature_b64.is_empty() || URL_SAFE_NO_PAD.decode(signature_b64).is_err() {
        return Err(FieldError::new(
            "signature",
            "has a signature part that is empty or not base64url",
        ));
    }

    if let Some(chain) = header.get("x5c") {
        // The signing input is the exact encoded text, not a re-serialisation.
        let signing_input = &text[..header_b64.len() + 1 + payload_b64.len()];
        verify_with_chain(chain, signing_input, signature_b64, algorithm)?;
    }

    match difference(&Value::Object(payload), statement) {
        None => Ok(()),
        Some(path) => Err(FieldError::new(
            "signature.payload",
            format!(
                "the signed statement is not the statement it is attached to (they differ at {path})"
            ),
        )),
    }
}

/// The signing algorithm the header names: RSA only, and no critical extensions (RFC 7515
/// 4.1.11: a recipient must refuse extensions it does not understand, and we understand none).
fn algorithm_of(header: &Map<String, Value>) -> Result<Algorithm, FieldError> {
    let algorithm = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("RS384") => Algorithm::RS384,
        Some("RS512") => Algorithm::RS512,
        Some(other) => {
            return Err(FieldError::new(
                "signature.alg",
                format!("must be RS256, RS384 or RS512, not {other}"),
            ));
        }
        None => {
            return Err(FieldError::new(
                "signature.alg",
                "is missing; it must be RS256, RS384 or RS512",
            ));
        }
    };
    if header.contains_key("crit") {
        return Err(FieldError::new(
            "signature.crit",
            "lists critical JWS extensions, which are not supported",
        ));
    }
    Ok(algorithm)
}

/// Checks the signature with the public key of the chain's first certificate.
fn verify_with_chain(
    chain: &Value,
    signing_input: &str,
    signature_b64: &str,
    algorithm: Algorithm,
) -> Result<(), FieldError> {
    let key = first_certificate_key(chain)?;
    let verified =
        jsonwebtoken::crypto::verify(signature_b64, signing_input.as_bytes(), &key, algorithm)
            .map_err(|_| {
                FieldError::new(
                    "signature.x5c",
                    "the first certificate's public key is not a usable RSA key",
                )
            })?;
    if verified {
        Ok(())
    } else {
        Err(FieldError::new(
            "signature",
            "does not verify with the public key of the first x5c certificate",
        ))
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn first_certificate_key(chain: &Value) -> Result<DecodingKey, FieldError> {
    let bad = |message: &str| FieldError::new("signature.x5c", message);
    let first = chain
        .as_array()
        .and_then(|certs| certs.first())
        .and_then(Value::as_str)
        .ok_or_else(|| bad("must be a non-empty array of base64 certificates"))?;
    // RFC 7515 4.1.6: x5c uses plain base64, unlike the rest of the JWS.
    let der = STANDARD
        .decode(first)
        .map_err(|_| bad("holds a first certificate that is not base64"))?;
    let certificate = Certificate::from_der(&der)
        .map_err(|_| bad("holds a first certificate that is not DER X.509"))?;
    let key_info = &certificate.tbs_certificate.subject_public_key_info;
    if key_info.algorithm.oid.to_string() != RSA_ENCRYPTION {
        return Err(bad("holds a first certificate whose key is not an RSA key"));
    }
    // The BIT STRING of an rsaEncryption key is the PKCS#1 RSAPublicKey that jsonwebtoken wants.
    let pkcs1 = key_info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("holds a first certificate with a malformed public key"))?;
    Ok(DecodingKey::from_rsa_der(pkcs1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SIGNER_KEY: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/xapi/signer-key.pem"
    ));
    const SIGNER_CERT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/xapi/signer-cert.pem"
    ));
    const OTHER_KEY: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/xapi/other-key.pem"
    ));

    /// The base64 body of a PEM file, i.e. base64 of its DER.
    fn pem_base64(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        STANDARD.decode(pem_base64(pem)).unwrap()
    }

    pub(crate) fn statement() -> Value {
        json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"mbox": "mailto:learner@example.com", "name": "A Learner"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
            "object": {"id": "http://example.com/activities/course", "objectType": "Activity"},
            "timestamp": "2024-05-01T12:00:00Z"
        })
    }

    fn sign_with(payload: &Value, key_pem: &str, algorithm: Algorithm, x5c: bool) -> String {
        let mut header = Header::new(algorithm);
        if x5c {
            header.x5c = Some(vec![pem_base64(SIGNER_CERT)]);
        }
        let key = EncodingKey::from_rsa_der(&pem_der(key_pem));
        jsonwebtoken::encode(&header, payload, &key).unwrap()
    }

    /// A compact JWS over `payload`, signed by the test signer, with its certificate in x5c.
    pub(crate) fn sign(payload: &Value) -> String {
        sign_with(payload, SIGNER_KEY, Algorithm::RS256, true)
    }

    fn received(signed: &Value) -> Value {
        let mut received = signed.clone();
        received["attachments"] = json!([{
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": 0,
            "sha2": "00"
        }]);
        received
    }

    #[test]
    fn accepts_a_valid_signed_statement() {
        let jws = sign(&statement());
        assert_eq!(verify(&received(&statement()), jws.as_bytes()), Ok(()));
    }

    #[test]
    fn accepts_rs384_and_rs512() {
        for algorithm in [Algorithm::RS384, Algorithm::RS512] {
            let jws = sign_with(&statement(), SIGNER_KEY, algorithm, true);
            assert_eq!(verify(&received(&statement()), jws.as_bytes()), Ok(()));
        }
    }

    #[test]
    fn accepts_a_trailing_newline() {
        let jws = format!("{}\r\n", sign(&statement()));
        assert_eq!(verify(&received(&statement()), jws.as_bytes()), Ok(()));
    }

    #[test]
    fn without_x5c_only_the_form_and_payload_are_checked() {
        // The key that signed is unknown, so 2.6.s5.b3.b3 has nothing to check against.
        let jws = sign_with(&statement(), OTHER_KEY, Algorithm::RS256, false);
        assert_eq!(verify(&received(&statement()), jws.as_bytes()), Ok(()));
    }

    #[test]
    fn rejects_a_signature_over_a_different_statement() {
        let mut other = statement();
        other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let jws = sign(&other);
        let error = verify(&received(&statement()), jws.as_bytes()).unwrap_err();
        assert_eq!(error.field, "signature.payload");
        assert!(error.message.contains("verb.id"), "{}", error.message);
    }

    #[test]
    fn rejects_a_key_that_is_not_the_certificates() {
        let jws = sign_with(&statement(), OTHER_KEY, Algorithm::RS256, true);
        let error = verify(&received(&statement()), jws.as_bytes()).unwrap_err();
        assert_eq!(error.field, "signature");
        assert!(error.message.contains("x5c"), "{}", error.message);
    }

    #[test]
    fn rejects_a_tampered_signature() {
        let jws = sign(&statement());
        let (rest, signature) = jws.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
        raw[0] ^= 1;
        let tampered = format!("{rest}.{}", URL_SAFE_NO_PAD.encode(raw));
        assert!(verify(&received(&statement()), tampered.as_bytes()).is_err());
    }

    #[test]
    fn rejects_algorithms_other_than_rs() {
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &statement(),
            &EncodingKey::from_secret(b"shared secret"),
        )
        .unwrap();
        let ps = sign_with(&statement(), SIGNER_KEY, Algorithm::PS256, true);
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(statement().to_string())
        );
        for jws in [hs, ps, none] {
            let error = verify(&received(&statement()), jws.as_bytes()).unwrap_err();
            assert_eq!(error.field, "signature.alg", "{jws}");
        }
    }

    #[test]
    fn rejects_garbled_signatures() {
        let good = sign(&statement());
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let broken_json = URL_SAFE_NO_PAD.encode(statement().to_string().replacen('"', "'", 1));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "signature"),
            (b"not a jws".to_vec(), "signature"),
            (b"a.b".to_vec(), "signature"),
            (b"a.b.c.d".to_vec(), "signature"),
            (vec![0xff, 0xfe, 0x2e, 0x2e], "signature"),
            (b"%%%.%%%.%%%".to_vec(), "signature"),
            (
                format!("{}.{rest}", URL_SAFE_NO_PAD.encode("[1]")).into_bytes(),
                "signature",
            ),
            // The conformance suite's "bad JSON serialization of statement".
            (
                format!("{header}.{broken_json}.{signature}").into_bytes(),
                "signature.payload",
            ),
            (
                format!("{header}.{}.", rest.split_once('.').unwrap().0).into_bytes(),
                "signature",
            ),
            (
                br#"{"payload":"e30","signatures":[]}"#.to_vec(),
                "signature",
            ),
        ];
        for (jws, field) in cases {
            let error = verify(&received(&statement()), &jws).unwrap_err();
            assert_eq!(error.field, field, "{:?}", String::from_utf8_lossy(&jws));
        }
    }

    #[test]
    fn rejects_a_garbled_certificate() {
        let good = sign(&statement());
        let (_, rest) = good.split_once('.').unwrap();
        for x5c in [
            json!([]),
            json!(["!!"]),
            json!([STANDARD.encode(b"no cert")]),
            json!("x"),
        ] {
            let header = json!({"alg": "RS256", "x5c": x5c});
            let jws = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
            let error = verify(&received(&statement()), jws.as_bytes()).unwrap_err();
            assert_eq!(error.field, "signature.x5c");
        }
    }

    #[test]
    fn rejects_critical_extensions() {
        let good = sign(&statement());
        let (_, rest) = good.split_once('.').unwrap();
        let header = json!({"alg": "RS256", "crit": ["b64"], "b64": false});
        let jws = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
        let error = verify(&received(&statement()), jws.as_bytes()).unwrap_err();
        assert_eq!(error.field, "signature.crit");
    }
}
