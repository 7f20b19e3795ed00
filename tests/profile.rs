//! `/v1/me`: the calling person's profile.

mod support;

use serde_json::{Value, json};
use support::{Method, TestApp, exactly_one_wins};

async fn the_passport_is_created_from_the_token_on_first_use(app: TestApp) {
    let alice = app.person_token("alice");
    let first = app.get("/v1/me", &alice).await;
    first.expect(200);
    assert_eq!(first.body["display_name"], "Person alice");
    assert_eq!(first.body["email"], "alice@example.org");
    assert!(first.header("etag").is_some());
    snapshot!("profile", first.body);
    let again = app.get("/v1/me", &alice).await;
    assert_eq!(
        again.body["id"], first.body["id"],
        "the same person, not a second passport"
    );
}

async fn concurrent_first_requests_create_one_passport(app: TestApp) {
    let token = app.person_token("carol");
    let calls = (0..8).map(|_| app.get("/v1/me", &token));
    let replies = futures_util::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| {
            r.expect(200);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
}

async fn a_person_edits_their_profile(app: TestApp) {
    let alice = app.person_token("alice");
    let patched = app
        .patch("/v1/me", &alice, json!({"display_name": "Alice Smith", "registration": {"body": "NMC", "number": "12A3456E"}}))
        .await;
    patched.expect(200);
    assert_eq!(patched.body["display_name"], "Alice Smith");
    assert_eq!(
        patched.body["registration"],
        json!({"body": "NMC", "number": "12A3456E"})
    );
    assert_eq!(patched.body["email"], "alice@example.org");

    let cleared = app
        .patch("/v1/me", &alice, json!({"registration": null}))
        .await;
    assert_eq!(cleared.body["registration"], Value::Null);

    app.patch("/v1/me", &alice, json!({"email": "not-an-email"}))
        .await
        .expect_field_error(422, "email");
    app.patch("/v1/me", &alice, json!({"display_name": ""}))
        .await
        .expect_field_error(422, "display_name");
    app.patch(
        "/v1/me",
        &alice,
        json!({"registration": {"body": "", "number": "1"}}),
    )
    .await
    .expect_field_error(422, "registration.body");
    app.patch("/v1/me", &alice, json!({"registration": {"body": "NMC"}}))
        .await
        .expect_field_error(422, "registration.number");
    app.patch(
        "/v1/me",
        &alice,
        json!({"id": "0190a000-0000-7000-8000-000000000000"}),
    )
    .await
    .expect_field_error(422, "id");
    assert_eq!(
        app.get("/v1/me", &alice).await.body,
        cleared.body,
        "refused patches change nothing"
    );
}

async fn a_stale_profile_etag_is_refused(app: TestApp) {
    let alice = app.person_token("alice");
    let tag = app
        .get("/v1/me", &alice)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.patch("/v1/me", &alice, json!({"display_name": "First"}))
        .await
        .expect(200);
    let stale = app
        .http
        .patch(app.url("/v1/me"))
        .bearer_auth(&alice)
        .header("if-match", &tag)
        .json(&json!({"display_name": "Second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(
        app.get("/v1/me", &alice).await.body["display_name"],
        "First"
    );
}

async fn two_apps_editing_the_profile_at_once_cannot_both_win(app: TestApp) {
    let alice = app.person_token("alice");
    let tag = app
        .get("/v1/me", &alice)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let bodies = (0..6)
        .map(|n| Some(json!({"display_name": format!("Name from app {n}")})))
        .collect();
    let replies = app
        .racing(Method::PATCH, "/v1/me", &alice, &tag, bodies)
        .await;
    exactly_one_wins(&replies, 200);
    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(
        app.get("/v1/me", &alice).await.body["display_name"],
        winner.body["display_name"]
    );
}

on_both_backends!(
    two_apps_editing_the_profile_at_once_cannot_both_win,
    the_passport_is_created_from_the_token_on_first_use,
    concurrent_first_requests_create_one_passport,
    a_person_edits_their_profile,
    a_stale_profile_etag_is_refused,
);
