//! A person's consents: `/v1/me/grants`, and the organisation directory they choose from.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::{Method, TestApp, exactly_one_wins};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

async fn a_person_finds_an_employer_and_shares_for_30_days(app: TestApp) {
    let employer = app
        .org("St Elsewhere NHS Foundation Trust", "shared:read")
        .await;
    app.org("Elsewhere Learning Ltd", "records:write").await;
    let alice = app.person_token("alice");

    let found = app.get("/v1/organisations?q=st%20elsewhere", &alice).await;
    found.expect(200);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], employer.organisation_id.as_str());

    let grant = app
        .post(
            "/v1/me/grants",
            &alice,
            json!({
                "organisation_id": employer.organisation_id,
                "permission": "read",
                "scope": {"records": {"kinds": ["statutory_mandatory"]}, "attainments": false},
                "purpose": "Pre-employment checks",
                "expires_at": in_days(30),
            }),
        )
        .await;
    grant.expect(201);
    assert_eq!(grant.body["status"], "live");
    assert_eq!(
        grant.body["organisation_name"],
        "St Elsewhere NHS Foundation Trust"
    );
    assert!(
        grant
            .header("location")
            .unwrap()
            .starts_with("/v1/me/grants/")
    );
    snapshot!("grant_created", grant.body);

    let id = grant.body["id"].as_str().unwrap();
    let read = app.get(&format!("/v1/me/grants/{id}"), &alice).await;
    read.expect(200);
    assert_eq!(read.body, grant.body);

    let revoked = app.delete(&format!("/v1/me/grants/{id}"), &alice).await;
    revoked.expect(200);
    assert_eq!(revoked.body["status"], "revoked");
    assert!(revoked.body["revoked_at"].is_string());
    // Revoking again changes nothing.
    let again = app.delete(&format!("/v1/me/grants/{id}"), &alice).await;
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
}

async fn a_revocation_honours_if_match(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let grant = app
        .post(
            "/v1/me/grants",
            &alice,
            json!({"organisation_id": employer.organisation_id, "permission": "read",
                "scope": {"records": "all"}, "purpose": "p", "expires_at": in_days(10)}),
        )
        .await;
    grant.expect(201);
    let path = format!("/v1/me/grants/{}", grant.body["id"].as_str().unwrap());
    let live = grant.header("etag").unwrap().to_owned();

    // A tag of no version of this grant is refused, and the grant stays live.
    let stale = "\"0190a0000000700080000000000000000-1\"";
    let refused = app
        .racing(Method::DELETE, &path, &alice, stale, vec![None])
        .await;
    refused[0].expect_problem(412);
    assert_eq!(app.get(&path, &alice).await.body["status"], "live");

    // Apps revoking with the tag they read: one revokes, the others are told it changed.
    let replies = app
        .racing(Method::DELETE, &path, &alice, &live, vec![None; 4])
        .await;
    exactly_one_wins(&replies, 200);
    let revoked = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(revoked.body["status"], "revoked");
    let tag = revoked.header("etag").unwrap().to_owned();
    assert_ne!(tag, live);
    assert_eq!(
        app.get(&path, &alice).await.header("etag"),
        Some(tag.as_str())
    );

    // The revoked grant's own tag, or `*`, revokes it again: nothing changes.
    for current in [tag.as_str(), "*"] {
        let again = app
            .racing(Method::DELETE, &path, &alice, current, vec![None])
            .await;
        again[0].expect(200);
        assert_eq!(again[0].body["revoked_at"], revoked.body["revoked_at"]);
    }
    let stale_again = app
        .racing(Method::DELETE, &path, &alice, &live, vec![None])
        .await;
    stale_again[0].expect_problem(412);
}

async fn grants_are_listed_and_filtered_by_status(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let platform = app.org("Platform", "records:write").await;
    let alice = app.person_token("alice");
    let make = |org: &str, permission: &str| json!({"organisation_id": org, "permission": permission, "scope": {"records": "all"}, "purpose": "p", "expires_at": in_days(10)});
    let first = app
        .post(
            "/v1/me/grants",
            &alice,
            make(&employer.organisation_id, "read"),
        )
        .await
        .body["id"]
        .clone();
    app.post(
        "/v1/me/grants",
        &alice,
        make(&platform.organisation_id, "write"),
    )
    .await
    .expect(201);
    app.post(
        "/v1/me/grants",
        &alice,
        make(&employer.organisation_id, "read"),
    )
    .await
    .expect(201);
    app.delete(
        &format!("/v1/me/grants/{}", first.as_str().unwrap()),
        &alice,
    )
    .await
    .expect(200);

    let all = app.get("/v1/me/grants", &alice).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    let live = app.get("/v1/me/grants?status=live", &alice).await;
    assert_eq!(live.body["items"].as_array().unwrap().len(), 2);
    let revoked = app.get("/v1/me/grants?status=revoked", &alice).await;
    assert_eq!(revoked.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(revoked.body["items"][0]["id"], first);
    let to_employer = app
        .get(
            &format!("/v1/me/grants?organisation_id={}", employer.organisation_id),
            &alice,
        )
        .await;
    assert_eq!(to_employer.body["items"].as_array().unwrap().len(), 2);
    let page = app.get("/v1/me/grants?limit=2", &alice).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    assert!(page.body["next_cursor"].is_string());
    app.get("/v1/me/grants?status=paused", &alice)
        .await
        .expect_field_error(422, "status");
}

async fn invalid_grants_name_the_field_and_store_nothing(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let bobs_record = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "course", "title": "Bob's"}),
        )
        .await
        .body["id"]
        .clone();
    let good = json!({"organisation_id": employer.organisation_id, "permission": "read", "scope": {"records": "all", "attainments": true}, "purpose": "Checks", "expires_at": in_days(30)});
    let with = |path: &str, value: Value| {
        let mut body = good.clone();
        let mut target = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            target = &mut target[*part];
        }
        target[parts[parts.len() - 1]] = value;
        body
    };
    let cases = vec![
        (
            with(
                "organisation_id",
                json!("0190a000-0000-7000-8000-000000000000"),
            ),
            "organisation_id",
        ),
        (with("organisation_id", json!("nope")), "organisation_id"),
        (with("permission", json!("admin")), "permission"),
        (with("purpose", json!("")), "purpose"),
        (with("purpose", json!("p".repeat(501))), "purpose"),
        (with("expires_at", json!(in_days(-1))), "expires_at"),
        (with("expires_at", json!(in_days(366))), "expires_at"),
        (with("expires_at", json!("next year")), "expires_at"),
        // An empty selection shares nothing, unless attainments are shared.
        (
            with("scope", json!({"records": {}, "attainments": false})),
            "scope.records",
        ),
        (with("scope.records", json!("some")), "scope.records"),
        (
            with("scope.records", json!({"record_ids": [bobs_record]})),
            "scope.records.record_ids[0]",
        ),
        (
            with("scope.records", json!({"kinds": ["seminar"]})),
            "scope.records",
        ),
        (with("scope.colour", json!("red")), "scope.colour"),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/me/grants", &alice, body.clone()).await;
        assert_eq!(
            reply.status.as_u16(),
            422,
            "{body} should be refused: {:#}",
            reply.body
        );
        reply.expect_field_error(422, field);
    }
    let mut no_expiry = good.clone();
    no_expiry.as_object_mut().unwrap().remove("expires_at");
    app.post("/v1/me/grants", &alice, no_expiry)
        .await
        .expect_field_error(422, "expires_at");
    assert_eq!(
        app.get("/v1/me/grants", &alice).await.body["items"],
        json!([])
    );
}

async fn a_person_never_reaches_another_persons_grants(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let grant = app
        .post("/v1/me/grants", &alice, json!({"organisation_id": employer.organisation_id, "permission": "read", "scope": {"records": "all"}, "purpose": "p", "expires_at": in_days(5)}))
        .await;
    let path = format!("/v1/me/grants/{}", grant.body["id"].as_str().unwrap());
    app.get(&path, &bob).await.expect_problem(404);
    app.delete(&path, &bob).await.expect_problem(404);
    assert_eq!(
        app.get("/v1/me/grants", &bob).await.body["items"],
        json!([])
    );
    assert_eq!(app.get(&path, &alice).await.body["status"], "live");
    // Organisations use their own endpoints.
    app.get("/v1/me/grants", &employer.token)
        .await
        .expect_problem(403);
    app.get("/v1/me/access-events", &employer.token)
        .await
        .expect_problem(403);
}

async fn the_directory_searches_by_name_and_ods_code(app: TestApp) {
    let admin = app.org("Passport Administration", "admin").await;
    for (name, ods) in [
        ("Leeds Teaching Hospitals", "RR8"),
        ("Leeds Community Healthcare", "RY6"),
        ("York and Scarborough", "RCB"),
    ] {
        app.post(
            "/v1/organisations",
            &admin.token,
            json!({"name": name, "ods_code": ods}),
        )
        .await
        .expect(201);
    }
    let alice = app.person_token("alice");
    let leeds = app.get("/v1/organisations?q=LEEDS", &alice).await;
    assert_eq!(leeds.body["items"].as_array().unwrap().len(), 2);
    let ods = app.get("/v1/organisations?ods_code=rcb", &alice).await;
    assert_eq!(ods.body["items"][0]["name"], "York and Scarborough");
    let wildcard = app.get("/v1/organisations?q=%25", &alice).await;
    assert_eq!(
        wildcard.body["items"],
        json!([]),
        "LIKE wildcards are matched literally"
    );
    let paged = app.get("/v1/organisations?limit=2", &alice).await;
    assert_eq!(paged.body["items"].as_array().unwrap().len(), 2);
    let rest = app
        .get(
            &format!(
                "/v1/organisations?limit=2&cursor={}",
                paged.body["next_cursor"].as_str().unwrap()
            ),
            &alice,
        )
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    // Any authenticated caller may search; nobody else.
    app.get("/v1/organisations", &admin.token).await.expect(200);
    app.call(support::Method::GET, "/v1/organisations", None, None)
        .await
        .expect_problem(401);
}

async fn a_person_holds_at_most_500_live_grants(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let alice_id = app.get("/v1/me", &alice).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        use diesel::prelude::*;
        use learning_passport::db::ids::{GrantId, OrganisationId, PersonId};
        use learning_passport::db::types::{Json, Timestamp};
        use learning_passport::grants::GrantRow;
        let (db, person, org) = (
            app.db.clone(),
            PersonId(alice_id.parse().unwrap()),
            OrganisationId(employer.organisation_id.parse().unwrap()),
        );
        actix_web::rt::task::spawn_blocking(move || {
            let rows: Vec<GrantRow> = (0..500)
                .map(|_| GrantRow {
                    id: GrantId::new(),
                    person_id: person,
                    organisation_id: org,
                    permission: "read".into(),
                    scope: Json(json!({"records": "all", "attainments": false})),
                    purpose: "seeded".into(),
                    version: 1,
                    created_at: Timestamp::now(),
                    expires_at: Timestamp::from(Utc::now() + Duration::days(10)),
                    revoked_at: None,
                })
                .collect();
            let mut conn = db.get().unwrap();
            learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(
                learning_passport::db::schema::grants::table
            )
            .values(&rows)
            .execute(c))
            .unwrap();
        })
        .await
        .unwrap();
    }
    let body = json!({"organisation_id": employer.organisation_id, "permission": "read",
        "scope": {"records": "all", "attainments": false}, "purpose": "one more", "expires_at": in_days(5)});
    let refused = app.post("/v1/me/grants", &alice, body.clone()).await;
    refused.expect_problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("revoke"));
    let one: Value = app.get("/v1/me/grants?limit=1", &alice).await.body["items"][0].clone();
    app.delete(
        &format!("/v1/me/grants/{}", one["id"].as_str().unwrap()),
        &alice,
    )
    .await
    .expect(200);
    app.post("/v1/me/grants", &alice, body).await.expect(201);
}

on_both_backends!(
    a_person_holds_at_most_500_live_grants,
    a_person_finds_an_employer_and_shares_for_30_days,
    a_revocation_honours_if_match,
    grants_are_listed_and_filtered_by_status,
    invalid_grants_name_the_field_and_store_nothing,
    a_person_never_reaches_another_persons_grants,
    the_directory_searches_by_name_and_ods_code,
);
