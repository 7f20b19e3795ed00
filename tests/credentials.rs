//! A portable, verifiable passport: credentials, their verification (online, and offline in
//! another language), revocation and key rotation.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::TestApp;
use support::credentials::{issue, node_example, passport, python_example, verify};

fn payload(jwt: &str) -> Value {
    support::credentials::jwt_part(jwt, 1)
}

/// Verifies the credential offline with PyJWT.
fn python_verify(app: &TestApp, jwt: &str) -> Option<Value> {
    python_example(
        "verify_credential.py",
        "jwt, cryptography",
        &[&app.base_url, jwt],
    )
}

/// Verifies the credential offline with Node's `jose`.
fn node_verify(app: &TestApp, jwt: &str) -> Option<Value> {
    node_example(app, "verify_credential.mjs", "jose", &[jwt])
}

/// Expands the credential and its status list as JSON-LD in safe mode with jsonld.js.
fn node_expand(app: &TestApp, jwt: &str) -> Option<Value> {
    node_example(app, "expand_credential.mjs", "jsonld", &[jwt])
}

async fn a_credential_expands_in_json_ld_safe_mode(app: TestApp) {
    let p = passport(&app).await;
    // Issued and self-declared records, and the holder's name.
    let created = issue(
        &app,
        &p,
        json!({"record_ids": [p.issued, p.own], "include_name": true}),
    )
    .await;
    created.expect(201);
    let jwt = created.body["jwt"].as_str().unwrap();
    let claims = payload(jwt);
    assert_eq!(
        claims["vc"]["@context"][2],
        format!("{}/contexts/passport/v1", app.base_url)
    );
    let context = app
        .http
        .get(app.url("/contexts/passport/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(context.status(), 200);
    assert_eq!(context.headers()["content-type"], "application/ld+json");
    if let Some(expanded) = node_expand(&app, jwt) {
        assert_eq!(expanded["expanded"], true, "{expanded}");
        assert_eq!(
            expanded["types"],
            json!([
                "https://www.w3.org/2018/credentials#VerifiableCredential",
                format!(
                    "{}/contexts/passport/v1#LearningPassportCredential",
                    app.base_url
                )
            ]),
            "{expanded}"
        );
    }
}

async fn a_credential_verifies_online_and_offline_until_revoked(app: TestApp) {
    let p = passport(&app).await;
    let created = issue(
        &app,
        &p,
        json!({"record_ids": [p.issued, p.own], "valid_days": 30}),
    )
    .await;
    created.expect(201);
    let jwt = created.body["jwt"].as_str().unwrap().to_owned();
    let claims = payload(&jwt);
    let did = format!(
        "did:web:127.0.0.1%3A{}",
        app.base_url.rsplit(':').next().unwrap()
    );
    assert_eq!(claims["iss"], did.as_str());
    assert!(
        claims.get("sub").is_none(),
        "no personal identifier unless chosen"
    );
    assert!(claims["vc"]["credentialSubject"].get("name").is_none());
    let records = claims["vc"]["credentialSubject"]["records"]
        .as_array()
        .unwrap();
    let issued = records
        .iter()
        .find(|r| r["title"] == "Fire safety")
        .unwrap();
    assert_eq!(issued["provenance"], "issued");
    assert_eq!(issued["issuedBy"]["name"], "E-Learning for All");
    let own = records
        .iter()
        .find(|r| r["title"] == "Journal club")
        .unwrap();
    assert_eq!(own["provenance"], "self_declared");
    assert!(own.get("issuedBy").is_none());

    let verdict = verify(&app, &jwt).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["errors"], json!([]));
    if let Some(offline) = python_verify(&app, &jwt) {
        assert_eq!(offline["valid"], true, "{offline}");
        assert_eq!(offline["revoked"], false);
    }
    if let Some(offline) = node_verify(&app, &jwt) {
        assert_eq!(offline["valid"], true, "{offline}");
        assert_eq!(offline["revoked"], false);
    }

    // The DID document lists the JWKS keys.
    let did_doc: Value = app
        .http
        .get(app.url("/.well-known/did.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(did_doc["id"], did.as_str());
    let kid = app.tokens.keys.active_kid();
    assert_eq!(
        did_doc["verificationMethod"][0]["publicKeyJwk"]["kid"],
        kid.as_str()
    );

    // A changed byte breaks it.
    let mut tampered: Vec<u8> = jwt.clone().into_bytes();
    let at = jwt.find('.').unwrap() + 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let verdict = verify(&app, &tampered).await;
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["errors"][0].as_str().unwrap().contains("signature"),
        "{verdict}"
    );
    if let Some(offline) = python_verify(&app, &tampered) {
        assert_eq!(offline["valid"], false);
    }
    if let Some(offline) = node_verify(&app, &tampered) {
        assert_eq!(offline["valid"], false);
    }

    // Revoked: online and through the status list.
    let id = created.body["id"].as_str().unwrap();
    let listed = app.get("/v1/me/credentials", &p.token).await;
    assert_eq!(listed.body["items"][0]["records"], 2);
    app.delete(&format!("/v1/me/credentials/{id}"), &p.token)
        .await
        .expect(200);
    let verdict = verify(&app, &jwt).await;
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("revoked"),
        "{verdict}"
    );
    if let Some(offline) = python_verify(&app, &jwt) {
        assert_eq!(offline["revoked"], true, "{offline}");
    }
    if let Some(offline) = node_verify(&app, &jwt) {
        assert_eq!(offline["revoked"], true, "{offline}");
    }
    let bob = app.person_token("bob");
    app.delete(&format!("/v1/me/credentials/{id}"), &bob)
        .await
        .expect_problem(404);
}

async fn expired_unknown_and_foreign_credentials_are_refused_in_plain_words(app: TestApp) {
    let p = passport(&app).await;
    let created = issue(&app, &p, json!({"record_ids": [p.own]})).await;
    let mut claims = payload(created.body["jwt"].as_str().unwrap());
    claims["exp"] = json!(Utc::now().timestamp() - 3600);
    let expired = app.tokens.keys.sign(&claims, "vc+jwt").unwrap();
    let verdict = verify(&app, &expired).await;
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("expired"),
        "{verdict}"
    );

    let mut foreign = claims.clone();
    foreign["exp"] = json!(Utc::now().timestamp() + 3600);
    foreign["iss"] = json!("did:web:elsewhere.example.org");
    let verdict = verify(&app, &app.tokens.keys.sign(&foreign, "vc+jwt").unwrap()).await;
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .contains("not by this service"),
        "{verdict}"
    );

    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("someone-elses-key".into());
    header.typ = Some("vc+jwt".into());
    let unknown = jsonwebtoken::encode(
        &header,
        &foreign,
        &jsonwebtoken::EncodingKey::from_ed_der(stranger.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap();
    let verdict = verify(&app, &unknown).await;
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .contains("does not know"),
        "{verdict}"
    );
    assert_eq!(verify(&app, "not a jwt").await["valid"], false);

    // No other token the service signs passes for a credential (RFC 8725 3.11): an access
    // token, or these very claims typed as one.
    let access = app.person_token("alice");
    let verdict = verify(&app, &access).await;
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .contains("not a credential"),
        "{verdict}"
    );
    let retyped = app.tokens.keys.sign(&foreign, "at+jwt").unwrap();
    assert_eq!(verify(&app, &retyped).await["valid"], false);
    // And a credential is never accepted as an access token.
    let jwt = created.body["jwt"].as_str().unwrap();
    app.get("/v1/me", jwt).await.expect_problem(401);
}

/// Credential rows straight into the database: `count` free slots of `list` from `first` (the
/// service picks its slots at random, so some may be taken), for a person or nobody (as after
/// an erasure).
async fn seed_credentials(app: &TestApp, person: Option<&str>, list: i32, first: i32, count: i32) {
    use diesel::prelude::*;
    use learning_passport::db::ids::{CredentialId, PersonId};
    use learning_passport::db::schema::credentials;
    use learning_passport::db::types::{Json, Timestamp};
    let person = person.map(|p| PersonId(p.parse().unwrap()));
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let now = Timestamp::now();
        let later = Timestamp::from(Utc::now() + Duration::days(30));
        let taken: std::collections::HashSet<i32> = credentials::table
            .filter(credentials::status_list.eq(list))
            .select(credentials::status_index)
            .load::<i32>(&mut *conn)
            .unwrap()
            .into_iter()
            .collect();
        let indexes: Vec<i32> = (first..)
            .filter(|index| !taken.contains(index))
            .take(count as usize)
            .collect();
        for chunk in indexes.chunks(2000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|index| {
                    (
                        credentials::id.eq(CredentialId::new()),
                        credentials::person_id.eq(person),
                        credentials::status_list.eq(list),
                        credentials::status_index.eq(*index),
                        credentials::summary.eq(Json(json!({"records": 1, "attainments": 0}))),
                        credentials::created_at.eq(now),
                        credentials::expires_at.eq(later),
                    )
                })
                .collect();
            learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(credentials::table)
                .values(&rows)
                .execute(c))
            .unwrap();
        }
    })
    .await
    .unwrap();
}

async fn credentials_are_bounded_and_paged(app: TestApp) {
    let p = passport(&app).await;
    // Pages of the person's credentials, newest first.
    for _ in 0..3 {
        issue(&app, &p, json!({"record_ids": [p.own]}))
            .await
            .expect(201);
    }
    let first = app.get("/v1/me/credentials?limit=2", &p.token).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/me/credentials?limit=2&cursor={cursor}"),
            &p.token,
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    let all = app.get("/v1/me/credentials", &p.token).await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let paged: Vec<String> = [ids(&first.body), ids(&second.body)].concat();
    assert_eq!(ids(&all.body), paged, "each credential once, newest first");
    let mut sorted = paged.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(paged, sorted);
    for bad in ["limit=0", "limit=201", "limit=x"] {
        app.get(&format!("/v1/me/credentials?{bad}"), &p.token)
            .await
            .expect_field_error(422, "limit");
    }
    app.get("/v1/me/credentials?cursor=AAAAAg", &p.token)
        .await
        .expect_field_error(422, "cursor");
    // Another person's list holds none of them, even given this list's cursor.
    let carol = app.person_token("carol");
    let theirs = app
        .get(&format!("/v1/me/credentials?cursor={cursor}"), &carol)
        .await;
    theirs.expect(200);
    assert_eq!(theirs.body["items"], json!([]));
    // An organisation has no credentials list.
    let employer = app.org("Employer", "shared:read").await;
    app.get("/v1/me/credentials", &employer.token)
        .await
        .expect_problem(403);

    // At most 100 live credentials per person: the 101st is refused until one is revoked.
    seed_credentials(&app, Some(&p.id), 1, 100_000, 97).await;
    let refused = issue(&app, &p, json!({"record_ids": [p.own]})).await;
    refused.expect_problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("revoke"));
    let newest = first.body["items"][0]["id"].as_str().unwrap();
    app.delete(&format!("/v1/me/credentials/{newest}"), &p.token)
        .await
        .expect(200);
    issue(&app, &p, json!({"record_ids": [p.own]}))
        .await
        .expect(201);

    // At most 500 records in one credential.
    let bob = app.person_token("bob");
    for n in 0..501 {
        app.post(
            "/v1/me/records",
            &bob,
            json!({"kind": "cpd", "title": format!("Session {n}")}),
        )
        .await
        .expect(201);
    }
    app.post(
        "/v1/me/credentials",
        &bob,
        json!({"records_where": {"kinds": ["cpd"]}}),
    )
    .await
    .expect_field_error(422, "records_where");
}

async fn a_full_status_list_opens_the_next(app: TestApp) {
    let p = passport(&app).await;
    // Every slot of the first list taken (by credentials of people since erased).
    seed_credentials(&app, None, 1, 0, 131_072).await;
    let created = issue(&app, &p, json!({"record_ids": [p.own]})).await;
    created.expect(201);
    let status = &payload(created.body["jwt"].as_str().unwrap())["vc"]["credentialStatus"];
    let list = status["statusListCredential"].as_str().unwrap();
    assert!(list.ends_with("/v1/credentials/status/2"), "{status}");
    // The new list is published and carries the revocation; a list not opened yet is not found.
    let id = created.body["id"].as_str().unwrap();
    app.delete(&format!("/v1/me/credentials/{id}"), &p.token)
        .await
        .expect(200);
    let published = app.http.get(list).send().await.unwrap();
    assert_eq!(published.status(), 200);
    assert_eq!(published.headers()["content-type"], "application/vc+jwt");
    let jwt = published.text().await.unwrap();
    // The same JWT as text to a client that reads only text.
    let as_text = app
        .http
        .get(list)
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(as_text.status(), 200);
    assert!(
        as_text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let vary = as_text.headers()["vary"].to_str().unwrap();
    assert!(vary.split(',').any(|v| v.trim() == "Accept"), "{vary}");
    assert_eq!(as_text.text().await.unwrap(), jwt);
    let encoded = payload(&jwt)["vc"]["credentialSubject"]["encodedList"]
        .as_str()
        .unwrap()
        .to_owned();
    let index: usize = status["statusListIndex"].as_str().unwrap().parse().unwrap();
    use base64::Engine;
    use std::io::Read;
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_start_matches('u'))
        .unwrap();
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut bits)
        .unwrap();
    assert_eq!(bits[index / 8] & (0x80 >> (index % 8)), 0x80 >> (index % 8));
    assert_eq!(
        verify(&app, created.body["jwt"].as_str().unwrap()).await["valid"],
        false
    );
    app.call(support::Method::GET, "/v1/credentials/status/3", None, None)
        .await
        .expect_problem(404);
    app.call(support::Method::GET, "/v1/credentials/status/0", None, None)
        .await
        .expect_problem(404);
}

async fn a_credential_holds_only_what_the_person_chose(app: TestApp) {
    let p = passport(&app).await;
    let bob = app.person_token("bob");
    let bobs = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "course", "title": "Bob's"}),
        )
        .await
        .body["id"]
        .clone();
    issue(&app, &p, json!({"record_ids": [bobs]}))
        .await
        .expect_field_error(422, "record_ids[0]");
    issue(&app, &p, json!({}))
        .await
        .expect_field_error(422, "record_ids");
    issue(&app, &p, json!({"record_ids": [p.own], "valid_days": 0}))
        .await
        .expect_field_error(422, "valid_days");
    issue(
        &app,
        &p,
        json!({"attainment_ids": ["0190a000-0000-7000-8000-000000000000"]}),
    )
    .await
    .expect_field_error(422, "attainment_ids[0]");
    app.post(
        "/v1/completions/fire-1/void",
        &p.platform.token,
        json!({"reason": "wrong learner"}),
    )
    .await
    .expect(200);
    issue(&app, &p, json!({"record_ids": [p.issued]}))
        .await
        .expect_field_error(422, "record_ids[0]");

    let named = issue(
        &app,
        &p,
        json!({"records_where": {"kinds": ["cpd"]}, "include_name": true}),
    )
    .await;
    named.expect(201);
    let subject = &payload(named.body["jwt"].as_str().unwrap())["vc"]["credentialSubject"];
    assert_eq!(subject["name"], "Person alice");
    assert_eq!(
        subject["records"].as_array().unwrap().len(),
        1,
        "only the CPD record, not the voided one"
    );
}

on_both_backends!(
    a_credential_expands_in_json_ld_safe_mode,
    credentials_are_bounded_and_paged,
    a_full_status_list_opens_the_next,
    a_credential_verifies_online_and_offline_until_revoked,
    expired_unknown_and_foreign_credentials_are_refused_in_plain_words,
    a_credential_holds_only_what_the_person_chose,
);
