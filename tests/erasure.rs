//! Erasure means erased: a person who holds every kind of data the service keeps erases their
//! passport, and a scan of every table of the database finds nothing of them — not their
//! passport id, their email, their name or their registration number — beyond the documented
//! audit remainder (rows that say an access happened or a credential existed, without them).
//! Before erasure, the export holds everything the person holds; after it, nothing is shared any
//! more, their credentials are revoked and the access log keeps its rows without them.

mod support;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;
use support::credentials::{issue, passport, verify};
use support::receiver::Receiver;
use support::xapi::{self, Lrs, Part};
use support::{Backend, Method, TestApp};

const NAME: &str = "Zelda Quartermaine";
const EMAIL: &str = "zelda.quartermaine@example.org";
const REGISTRATION: &str = "ZQ-998877";

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    text: String,
}

/// Every row of every table of the database, as text (binary columns as their bytes).
fn every_row(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.db.get().unwrap();
    let conn = &mut *conn;
    let postgres = app.backend == Backend::Postgres;
    let tables: Vec<Named> = if postgres {
        diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load(conn)
        .unwrap()
    } else {
        diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .load(conn)
        .unwrap()
    };
    let mut rows = Vec::new();
    for table in tables.into_iter().map(|t| t.name) {
        let columns: Vec<Column> = if postgres {
            diesel::sql_query(format!(
                "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ))
            .load(conn)
            .unwrap()
        } else {
            diesel::sql_query(format!(
                "SELECT name, type AS kind FROM pragma_table_info('{table}')"
            ))
            .load(conn)
            .unwrap()
        };
        let parts: Vec<String> = columns
            .iter()
            .map(|c| match (postgres, c.kind.as_str()) {
                (true, "bytea") => format!("coalesce(encode(\"{}\", 'escape'), '')", c.name),
                (true, _) => format!("coalesce(\"{}\"::text, '')", c.name),
                (false, _) => format!("coalesce(CAST(\"{}\" AS TEXT), '')", c.name),
            })
            .collect();
        let sql = if postgres {
            format!(
                "SELECT concat_ws('|', {}) AS text FROM \"{table}\"",
                parts.join(", ")
            )
        } else {
            format!(
                "SELECT {} AS text FROM \"{table}\"",
                parts.join(" || '|' || ")
            )
        };
        let found: Vec<Row> = diesel::sql_query(sql).load(conn).unwrap();
        rows.extend(found.into_iter().map(|r| (table.clone(), r.text)));
    }
    rows
}

/// The rows that mention the person in any of the forms they can be known by.
fn mentions(rows: &[(String, String)], person_id: &str) -> Vec<String> {
    mentions_of(rows, person_id, &[])
}

/// The same, with ids of the person's records and attainments too (which their history,
/// verifications and the access log would name).
fn mentions_of(rows: &[(String, String)], person_id: &str, owned: &[String]) -> Vec<String> {
    let simple = person_id.replace('-', "");
    let mut needles = vec![
        person_id.to_owned(),
        simple,
        EMAIL.to_owned(),
        NAME.to_owned(),
        REGISTRATION.to_owned(),
    ];
    needles.extend(owned.iter().cloned());
    rows.iter()
        .filter(|(_, text)| needles.iter().any(|n| text.contains(n.as_str())))
        .map(|(table, text)| format!("{table}: {}", text.chars().take(300).collect::<String>()))
        .collect()
}

async fn nothing_of_an_erased_person_remains_in_any_table(app: TestApp) {
    let token = app
        .tokens
        .issue_person_token("zelda", Some(EMAIL), Some(NAME), 3600)
        .unwrap();
    let bob = app.person_token("bob");
    let me = app.get("/v1/me", &token).await;
    let id = me.body["id"].as_str().unwrap().to_owned();
    app.patch(
        "/v1/me",
        &token,
        json!({"registration": {"body": "NMC", "number": REGISTRATION}}),
    )
    .await
    .expect(200);

    // Organisations, each told by webhook.
    let admin = app.org("Host", "admin").await;
    let employer = app.org("Employer", "shared:read").await;
    let lrs = Lrs::new(&app, "Learning platform").await;
    let platform = lrs.client.clone();
    let employer_receiver = Receiver::start();
    let platform_receiver = Receiver::start();
    let every = [
        "grant.created",
        "grant.revoked",
        "record.updated",
        "record.voided",
        "attainment.verified",
        "person.erased",
    ];
    support::webhooks::subscribe(&app, &employer, &employer_receiver, &every).await;
    support::webhooks::subscribe(&app, &platform, &platform_receiver, &every).await;

    // Grants, in the person's own words.
    for (org, permission) in [(&employer, "read"), (&platform, "write")] {
        app.post(
            "/v1/me/grants",
            &token,
            json!({
            "organisation_id": org.organisation_id, "permission": permission,
            "scope": {"records": "all", "attainments": true},
            "purpose": format!("{NAME}'s onboarding"), "expires_at": in_days(30)}),
        )
        .await
        .expect(201);
    }
    // A share code, not yet redeemed.
    app.post(
        "/v1/me/share-codes",
        &token,
        json!({"permission": "read", "scope": {"records": "all"},
            "purpose": format!("{NAME}'s interview"), "grant_expires_at": in_days(30)}),
    )
    .await
    .expect(201);
    // Access requests by email and by registration, one approved; an organisation blocked.
    for addressee in [
        json!({"email": EMAIL.to_uppercase()}),
        json!({"registration": {"body": "nmc", "number": REGISTRATION}}),
    ] {
        app.post(
            "/v1/access-requests",
            &employer.token,
            json!({"addressee": addressee, "permission": "read", "scope": {"records": "all"},
                "purpose": format!("Checks for {NAME}"), "duration_days": 30,
                "message": format!("Dear {NAME}")}),
        )
        .await
        .expect(202);
    }
    let asked = app.get("/v1/me/access-requests", &token).await;
    let first = asked.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/me/access-requests/{first}/approve"),
        &token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/v1/me/blocked-organisations",
        &token,
        json!({"organisation_id": admin.organisation_id}),
    )
    .await
    .expect(200);
    // Records: self-declared with notes, issued, corrected (history), voided.
    let own = app
        .post(
            "/v1/me/records",
            &token,
            json!({"kind": "cpd", "title": "Reflective writing",
            "notes": format!("notes by {NAME}")}),
        )
        .await;
    own.expect(201);
    let own_id = own.body["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/v1/me/records/{own_id}"),
        &token,
        json!({"hours": 2}),
    )
    .await
    .expect(200);
    app.post("/v1/completions", &platform.token, json!({"completions": [
        {"person_id": id, "external_id": "z-1", "title": "Fire safety", "completed_at": "2026-02-01T10:00:00Z", "result": "passed"},
        {"person_id": id, "external_id": "z-2", "title": "Manual handling", "completed_at": "2026-02-02T10:00:00Z", "result": "passed"}]}))
        .await
        .expect(200);
    app.patch("/v1/completions/z-1", &platform.token, json!({"score": 91}))
        .await
        .expect(200);
    app.post(
        "/v1/completions/z-2/void",
        &platform.token,
        json!({"reason": "duplicate"}),
    )
    .await
    .expect(200);
    // An attainment, verified.
    support::publish_example_framework(&app, &admin.token).await;
    let attainment = app
        .post(
            "/v1/me/attainments",
            &token,
            json!({
            "framework": {"code": "dghp-lof-example", "version": "0.1-example"},
            "outcome_code": "EX-CONTEXT-01", "level": 2, "achieved_on": "2026-05-01",
            "reflection": format!("What {NAME} learnt on placement"),
            "evidence": {"record_ids": [own_id], "links": []}}),
        )
        .await;
    attainment.expect(201);
    let attainment_id = attainment.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/attainments/{attainment_id}/verification"),
        &platform.token,
        json!({"assessor_name": "Dr A. Mensah", "assessor_role": "Supervisor", "level": 2,
               "comment": format!("{NAME} did well")}),
    )
    .await
    .expect(200);
    // Credentials, one naming the person.
    app.post(
        "/v1/me/credentials",
        &token,
        json!({"record_ids": [own_id], "include_name": true}),
    )
    .await
    .expect(201);
    // Accesses by the employer, allowed and refused.
    app.get(&format!("/v1/people/{id}/records"), &employer.token)
        .await
        .expect(200);
    app.get(&format!("/v1/people/{id}/records"), &admin.token)
        .await
        .expect_problem(403);
    // xAPI: statements by passport account and by the vouched-for email, an attachment, a
    // state document and an agent profile.
    let account = json!({"account": {"homePage": app.settings.issuer(), "name": id}});
    let mbox = json!({"mbox": format!("mailto:{EMAIL}")});
    let mut passed = xapi::statement(EMAIL, "passed", "https://lms.example.org/courses/fire");
    passed["actor"] = account.clone();
    passed["object"]["definition"] = json!({"name": {"en-GB": "Fire safety"}});
    passed["result"] = json!({"success": true});
    lrs.store(&app, json!([passed])).await;
    let certificate = format!("certificate of {NAME}");
    let part = Part::new("text/plain", certificate.as_bytes());
    let mut experienced = xapi::statement(
        EMAIL,
        "experienced",
        "https://lms.example.org/courses/fire/page-1",
    );
    experienced["attachments"] = json!([{
        "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
        "display": {"en-GB": "certificate"}, "contentType": "text/plain",
        "length": certificate.len(), "sha2": part.hash}]);
    let multipart = xapi::multipart(&experienced, &[part]);
    lrs.send(&app, Method::POST, "/statements", &[], Some(multipart))
        .await
        .expect(200);
    xapi::put_with(
        &lrs,
        &app,
        &xapi::state(
            "https://lms.example.org/courses/fire",
            &account,
            None,
            Some("bookmark"),
        ),
        &[],
        json!({"learner": NAME}),
    )
    .await
    .expect(204);
    xapi::put_with(
        &lrs,
        &app,
        &xapi::agent_profile(&mbox, Some("preferences")),
        &[("If-None-Match", "*")],
        json!({"display_name": NAME}),
    )
    .await
    .expect(204);
    // Someone else's data, which must survive.
    let bobs = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "cpd", "title": "Bob's"}),
        )
        .await;
    bobs.expect(201);
    let bob_statement = lrs
        .store(
            &app,
            json!([xapi::statement(
                "bob@example.org",
                "experienced",
                "https://lms.example.org/courses/fire"
            )]),
        )
        .await;

    // The scan finds the person before erasure, everywhere.
    employer_receiver.wait_for("grant.created", 1).await;
    let before = mentions(&every_row(&app), &id);
    for table in [
        "people",
        "records",
        "grants",
        "share_codes",
        "access_requests",
        "blocked_organisations",
        "attainments",
        "access_events",
        "webhook_deliveries",
        "xapi_statements",
        "xapi_attachments",
        "xapi_documents",
    ] {
        assert!(
            before.iter().any(|m| m.starts_with(&format!("{table}:"))),
            "the scan sees {table} before erasure: {before:#?}"
        );
    }

    // The ids of what the person held, which their history, verifications and the access log
    // name.
    let mut owned: Vec<String> = app.get("/v1/me/records?limit=200", &token).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(owned.len(), 4, "own, two pushed and one fed by xAPI");
    owned.push(attainment_id.clone());

    app.delete("/v1/me?confirm=true", &token).await.expect(204);

    // Every organisation that held a grant is told, then the notice itself is redacted.
    employer_receiver.wait_for("person.erased", 1).await;
    platform_receiver.wait_for("person.erased", 1).await;
    support::eventually("the delivered notices are redacted", || async {
        mentions_of(&every_row(&app), &id, &owned).is_empty()
    })
    .await;
    assert_eq!(
        mentions_of(&every_row(&app), &id, &owned),
        Vec::<String>::new()
    );

    // What remains is documented: the audit, without the person.
    let remaining = every_row(&app);
    assert!(
        remaining
            .iter()
            .any(|(t, text)| t == "access_events" && text.contains("erased"))
    );
    assert!(remaining.iter().any(|(t, _)| t == "credentials"));
    // Bob's data is untouched.
    app.get(
        &format!("/v1/me/records/{}", bobs.body["id"].as_str().unwrap()),
        &bob,
    )
    .await
    .expect(200);
    lrs.statement(&app, &bob_statement[0]).await.expect(200);
    // Resending an erased person's notice is refused.
    let (webhook, deliveries) = erased_delivery(&app, &employer).await;
    app.post(
        &format!("/v1/webhooks/{webhook}/deliveries/{deliveries}/resend"),
        &employer.token,
        json!({}),
    )
    .await
    .expect_problem(409);
}

/// The employer's subscription and its delivered `person.erased` delivery.
async fn erased_delivery(app: &TestApp, employer: &support::OrgClient) -> (String, String) {
    let hooks = app.get("/v1/webhooks", &employer.token).await;
    let webhook = hooks.body["items"][0]["id"].as_str().unwrap().to_owned();
    let log = app
        .get(
            &format!("/v1/webhooks/{webhook}/deliveries?limit=200"),
            &employer.token,
        )
        .await;
    let delivery = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event_type"] == "person.erased")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (webhook, delivery)
}

async fn the_export_holds_everything_and_erasure_removes_it(app: TestApp) {
    let p = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    app.post("/v1/me/grants", &p.token, json!({"organisation_id": employer.organisation_id, "permission": "read", "scope": {"records": "all"}, "purpose": "p", "expires_at": (Utc::now() + Duration::days(30)).to_rfc3339()}))
        .await
        .expect(201);
    app.get(&format!("/v1/people/{}/records", p.id), &employer.token)
        .await
        .expect(200);
    app.patch(
        "/v1/completions/fire-1",
        &p.platform.token,
        json!({"score": 90}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/v1/me/records/{}", p.own),
        &p.token,
        json!({"hidden": true}),
    )
    .await
    .expect(200);
    app.post("/v1/me/share-codes", &p.token, json!({"permission": "read", "scope": {"records": "all"}, "purpose": "interview", "grant_expires_at": (Utc::now() + Duration::days(30)).to_rfc3339()}))
        .await
        .expect(201);
    let credential = issue(&app, &p, json!({"record_ids": [p.own]})).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_owned();

    let export = app.get("/v1/me/export", &p.token).await;
    export.expect(200);
    let body = &export.body;
    assert_eq!(body["profile"]["id"], p.id.as_str());
    assert_eq!(
        body["records"].as_array().unwrap().len(),
        2,
        "hidden records too"
    );
    let fire = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["external_id"] == "fire-1")
        .unwrap();
    assert_eq!(fire["history"][0]["change"], "corrected");
    assert_eq!(body["grants"].as_array().unwrap().len(), 2);
    assert!(body["access_events"].as_array().unwrap().len() >= 2);
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(body["share_codes"][0]["purpose"], "interview");
    assert!(body["share_codes"][0].get("code").is_none());
    assert_eq!(body["attainments"], json!([]));
    let events_before = body["access_events"].as_array().unwrap().len();

    // Without confirmation nothing happens.
    app.delete("/v1/me", &p.token)
        .await
        .expect_field_error(422, "confirm");
    app.get("/v1/me/records", &p.token).await.expect(200);
    let erased = app.delete("/v1/me?confirm=true", &p.token).await;
    erased.expect(204);

    app.get(&format!("/v1/people/{}/records", p.id), &employer.token)
        .await
        .expect_problem(404);
    let verdict = verify(&app, &credential).await;
    assert!(
        verdict["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("revoked"),
        "{verdict}"
    );
    // The audit keeps its count and organisations, without the person.
    use diesel::prelude::*;
    use learning_passport::db::schema::access_events;
    let db = app.db.clone();
    let (kept, anonymous): (i64, i64) = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let kept = access_events::table.count().get_result(&mut *conn).unwrap();
        let anonymous = access_events::table
            .filter(access_events::person_id.is_null())
            .filter(access_events::resource.eq("erased"))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        (kept, anonymous)
    })
    .await
    .unwrap();
    assert_eq!(
        kept as usize, events_before,
        "every earlier event is kept; the refused read after erasure concerns nobody"
    );
    assert_eq!(kept, anonymous, "every event lost the person");
    // Signing in again starts an empty passport.
    let again = app.get("/v1/me", &p.token).await;
    assert_ne!(again.body["id"], p.id.as_str());
    assert_eq!(
        app.get("/v1/me/records", &p.token).await.body["items"],
        json!([])
    );
}

on_both_backends!(
    nothing_of_an_erased_person_remains_in_any_table,
    the_export_holds_everything_and_erasure_removes_it,
);
