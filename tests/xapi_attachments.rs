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

/// Communication 2.1.3 bounds a page by the LRS's "maximum list length"; here a page is also
/// bounded in bytes (`PASSPORT_XAPI_MAX_ANSWER_BYTES`): with `attachments=true` it ends after
/// the last statement whose attachments still fit, and its `more` link goes on from there.
/// Every statement comes once, with every attachment it declares on its own page; only a page
/// of one statement whose attachments alone exceed the budget is larger.
async fn pages_with_attachments_fit_the_answer_budget(mut app: TestApp) {
    const BUDGET: usize = 8 * 1024;
    app.restart_with(|s| s.xapi.max_answer_bytes = BUDGET).await;
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for letter in b'a'..=b'f' {
        let content = vec![letter; 1500];
        let s = set(
            base(),
            "/attachments",
            json!([declared_attachment(&content, None)]),
        );
        stored.push(store_with(&lrs, &app, &s, &[Part::new("text/plain", &content)]).await);
    }
    // Two statements sharing one attachment, sent once.
    let shared = vec![b'S'; 1500];
    // Stored at one instant, they come in the order of their ids.
    let mut pair_ids = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    pair_ids.sort();
    let with_shared = |id: &str| {
        set(
            with_id(base(), id),
            "/attachments",
            json!([declared_attachment(&shared, None)]),
        )
    };
    let pair = json!([with_shared(&pair_ids[0]), with_shared(&pair_ids[1])]);
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&pair, &[Part::new("text/plain", &shared)])),
        )
        .await;
    reply.expect(200);
    assert_eq!(reply.body, json!(pair_ids));
    stored.extend(pair_ids.clone());
    // One whose attachment alone is larger than the budget (but within the body limit).
    let large = vec![b'L'; 3 * BUDGET / 2];
    let s = set(
        base(),
        "/attachments",
        json!([declared_attachment(&large, None)]),
    );
    stored.push(store_with(&lrs, &app, &s, &[Part::new("text/plain", &large)]).await);
    for _ in 0..2 {
        stored.extend(lrs.store(&app, base()).await);
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut next = "/statements?attachments=true&ascending=true".to_owned();
    loop {
        let reply = lrs.send_bytes(&app, Method::GET, &next, &[], None).await;
        assert_eq!(reply.status, 200);
        let body = String::from_utf8(reply.bytes.clone()).unwrap();
        let parts = parts_of(reply.header("content-type").unwrap(), &body);
        let result: Value = serde_json::from_str(&parts[0].body).unwrap();
        let page = result["statements"].as_array().unwrap().clone();
        assert!(!page.is_empty(), "an empty page at {next}");
        let declared: std::collections::BTreeSet<String> = page
            .iter()
            .flat_map(|s| s["attachments"].as_array().cloned().unwrap_or_default())
            .map(|a| a["sha2"].as_str().unwrap().to_owned())
            .collect();
        let sent: Vec<String> = parts[1..]
            .iter()
            .map(|p| p.header("x-experience-api-hash").unwrap().to_owned())
            .collect();
        for part in &parts[1..] {
            assert_eq!(
                sha256(part.body.as_bytes()),
                part.header("x-experience-api-hash").unwrap()
            );
        }
        assert_eq!(
            declared,
            sent.iter().cloned().collect(),
            "each attachment of the page's statements, once"
        );
        assert_eq!(sent.len(), declared.len(), "no attachment twice");
        if page.len() > 1 || sent.iter().all(|h| *h != sha256(&large)) {
            assert!(
                reply.bytes.len() <= BUDGET,
                "a page of {} bytes, over the budget of {BUDGET}",
                reply.bytes.len()
            );
        }
        sizes.push(page.len());
        seen.extend(ids(&page));
        let more = result["more"].as_str().unwrap();
        if more.is_empty() {
            break;
        }
        next = more.strip_prefix("/xapi").unwrap().to_owned();
        assert!(sizes.len() < 20, "the pages do not end");
    }
    assert_eq!(seen, stored, "every statement once, in order");
    assert!(sizes.len() >= 3, "pages: {sizes:?}");
    assert!(sizes.iter().any(|n| *n > 1), "pages: {sizes:?}");

    // The limit still holds within the budget.
    let reply = lrs.get(&app, "/statements?limit=2&attachments=true").await;
    reply.expect(200);
    let result: Value = serde_json::from_str(&parts(&reply)[0].body).unwrap();
    assert_eq!(result["statements"].as_array().unwrap().len(), 2);
}

/// Data 2.4.11: attachments are identified by their SHA-2, so the same certificate sent again
/// with another statement is accepted, stored once, and answered with both.
async fn content_sent_again_with_another_statement_is_stored_once(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate of completion: fire safety.";
    let s = set(
        base(),
        "/attachments",
        json!([declared_attachment(content, None)]),
    );
    let first = store_with(&lrs, &app, &s, &[Part::new("text/plain", content)]).await;
    let second = store_with(&lrs, &app, &s, &[Part::new("text/plain", content)]).await;
    assert_ne!(first, second);
    for id in [&first, &second] {
        let reply = lrs
            .get(
                &app,
                &format!("/statements?statementId={id}&attachments=true"),
            )
            .await;
        reply.expect(200);
        assert_eq!(parts(&reply)[1].body.as_bytes(), content);
    }
    assert_eq!(
        recount(&app, &lrs.client.organisation_id).await,
        (2, 0, content.len() as i64)
    );
}

on_both_backends!(
    content_sent_again_with_another_statement_is_stored_once,
    pages_with_attachments_fit_the_answer_budget,
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
