//! Statements with attachments and signatures, requirement by requirement, as xAPI 1.0.3
//! states them (Communication 1.5.2; Data 2.4.11 and 2.6; section numbers are the
//! specification's): attachment data travels in multipart/mixed, bound by its SHA-2, and comes
//! back the same way; a signed statement is accepted only if its signature is of itself.

mod support;

use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, TestApp};
use uuid::Uuid;

// Attachments (Communication 1.5.2; Data 2.4.11) ---------------------------------------------

/// Communication 1.5.2: a statement's attachment travels as a part of a multipart/mixed
/// request, bound by its SHA-2; `attachments=true` answers multipart/mixed with the statement
/// first and the attachment's data after.
async fn an_attachment_is_stored_and_answered_with_its_statement(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate of completion: Ann, fire safety, 2024.";
    let hash = sha256(content);
    let s = set(base(), "/attachments", json!([attachment(content, None)]));
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&s, &[Part::new("text/plain", content)])),
        )
        .await;
    reply.expect(200);
    let id = reply.body[0].as_str().unwrap().to_owned();

    for path in [
        format!("/statements?statementId={id}&attachments=true"),
        "/statements?attachments=true".to_owned(),
    ] {
        let reply = lrs.get(&app, &path).await;
        reply.expect(200);
        let parts = parts(&reply);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(
            parts[0]
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let json: Value = serde_json::from_str(&parts[0].body).unwrap();
        let statement = if json.get("statements").is_some() {
            json["statements"][0].clone()
        } else {
            json
        };
        assert_eq!(statement["id"], id.as_str());
        assert_eq!(statement["attachments"][0]["sha2"], hash.as_str());
        assert_eq!(parts[1].body.as_bytes(), content);
        assert_eq!(
            parts[1].header("x-experience-api-hash"),
            Some(hash.as_str())
        );
        assert_eq!(parts[1].header("content-transfer-encoding"), Some("binary"));
        assert!(
            parts[1]
                .header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
    }
    // Without attachments=true, plain JSON.
    let plain = lrs.statement(&app, &id).await;
    assert!(
        plain
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(plain.body["attachments"][0]["sha2"], hash.as_str());
}

/// Communication 1.5.2: an attachment without fileUrl must come as a part, so plain JSON
/// declaring one is refused (400); with a fileUrl, plain JSON will do.
async fn an_attachment_without_file_url_needs_its_data(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate";
    let id = Uuid::new_v4().to_string();
    let missing = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(content, None)]),
    );
    let reply = lrs.post(&app, "/statements", missing).await;
    assert_refused(&reply, "attachments");
    lrs.statement(&app, &id).await.expect_problem(404);
    let batch = json!([
        base(),
        set(base(), "/attachments", json!([attachment(content, None)])),
    ]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[1].attachments");
    assert!(lrs.query(&app, "").await.is_empty());

    let linked = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(
            content,
            Some("http://example.com/certificate.txt")
        )]),
    );
    lrs.post(&app, "/statements", linked).await.expect(200);
    let got = lrs.statement(&app, &id).await;
    assert_eq!(
        got.body["attachments"][0]["fileUrl"],
        "http://example.com/certificate.txt"
    );
}

/// Communication 1.5.2: a part whose data does not match its `X-Experience-API-Hash` is refused
/// (400), and nothing is stored.
async fn a_part_whose_hash_does_not_match_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate";
    let id = Uuid::new_v4().to_string();
    let s = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(content, None)]),
    );
    let tampered = Part {
        bytes: b"Forged certificate".to_vec(),
        ..Part::new("text/plain", content)
    };
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&s, &[tampered])),
        )
        .await;
    assert_refused(&reply, "X-Experience-API-Hash");
    lrs.statement(&app, &id).await.expect_problem(404);
    assert!(lrs.query(&app, "").await.is_empty());
}

// Signatures (Data 2.6) ----------------------------------------------------------------------

/// Data 2.6: a signed statement (an RS256 JWS of the statement, with its certificate in x5c,
/// attached as a signature) is accepted, and answered with its signature.
async fn a_signed_statement_is_accepted(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let s = with_id(base(), &Uuid::new_v4().to_string());
    let jws = signature(&s);
    let signed = set(
        s.clone(),
        "/attachments",
        json!([signature_attachment(&jws)]),
    );
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(
                &signed,
                &[Part::new("application/octet-stream", jws.as_bytes())],
            )),
        )
        .await;
    reply.expect(200);
    let id = s["id"].as_str().unwrap();
    let reply = lrs
        .get(
            &app,
            &format!("/statements?statementId={id}&attachments=true"),
        )
        .await;
    let parts = parts(&reply);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].body, jws);
}

/// Data 2.6: a signature whose JWS payload is another statement is refused (400), and nothing
/// is stored.
async fn a_signature_of_a_different_statement_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let s = with_id(base(), &Uuid::new_v4().to_string());
    let other = set(
        s.clone(),
        "/verb/id",
        json!("http://adlnet.gov/expapi/verbs/failed"),
    );
    let jws = signature(&other);
    let signed = set(
        s.clone(),
        "/attachments",
        json!([signature_attachment(&jws)]),
    );
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(
                &signed,
                &[Part::new("application/octet-stream", jws.as_bytes())],
            )),
        )
        .await;
    assert_refused(&reply, "attachments[0]");
    lrs.statement(&app, s["id"].as_str().unwrap())
        .await
        .expect_problem(404);
    assert!(lrs.query(&app, "").await.is_empty());
}

on_both_backends!(
    an_attachment_is_stored_and_answered_with_its_statement,
    an_attachment_without_file_url_needs_its_data,
    a_part_whose_hash_does_not_match_is_refused,
    a_signed_statement_is_accepted,
    a_signature_of_a_different_statement_is_refused,
);

// Helpers ------------------------------------------------------------------------------------

/// The declaration of a text attachment with `content`.
fn attachment(content: &[u8], file_url: Option<&str>) -> Value {
    let mut declaration = json!({
        "usageType": "http://example.com/attachments/certificate",
        "display": {"en-GB": "Certificate"},
        "contentType": "text/plain",
        "length": content.len(),
        "sha2": sha256(content),
    });
    if let Some(url) = file_url {
        declaration["fileUrl"] = json!(url);
    }
    declaration
}
