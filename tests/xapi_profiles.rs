//! The LRS's Activity Profile and Agent Profile resources (xAPI 1.0.3, Communication 2.6 and
//! 2.7; document merging, 2.2) and their concurrency control (Communication 3.1; "1.3" in the
//! 1.0.3 numbering of the conformance requirements): writes are optimistically concurrent,
//! POST merges JSON objects, lists answer profileIds, and a DELETE names its profile. Each test
//! names the requirement it checks.

mod support;

use serde_json::json;
use support::xapi::*;
use support::{Method, TestApp};

/// 3.1 for the Activity Profile resource: If-None-Match: * creates only, If-Match updates only
/// the version named, a PUT over an existing document with neither header is 409, and a failed
/// precondition is 412 and changes nothing; DELETE honours If-Match.
async fn activity_profile_writes_are_optimistically_concurrent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    concurrency_scenario(&app, &lrs, |id| activity_profile(COURSE, Some(id))).await;
}

/// 3.1 for the Agent Profile resource: as for the Activity Profile resource.
async fn agent_profile_writes_are_optimistically_concurrent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    concurrency_scenario(&app, &lrs, |id| agent_profile(&ann(), Some(id))).await;
}

/// 2.2.s7 for both profile resources: POST stores a document that does not exist, merges a
/// JSON object into a stored JSON object (the new properties win), and refuses (400, nothing
/// changed) to merge what is not a JSON object. A POST needs no concurrency header.
async fn posting_to_a_profile_merges_json_objects(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    for path in [
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("settings")),
    ] {
        lrs.post(&app, &path, json!({"car": "Honda", "colour": "red"}))
            .await
            .expect(204);
        assert_eq!(
            lrs.get(&app, &path).await.body,
            json!({"car": "Honda", "colour": "red"})
        );
        lrs.post(&app, &path, json!({"type": "Civic", "colour": "blue"}))
            .await
            .expect(204);
        let merged = json!({"car": "Honda", "type": "Civic", "colour": "blue"});
        assert_eq!(lrs.get(&app, &path).await.body, merged, "{path}");

        lrs.send(
            &app,
            Method::POST,
            &path,
            &[],
            Some(raw("application/octet-stream", b"abcdefg")),
        )
        .await
        .expect(400);
        lrs.send(
            &app,
            Method::POST,
            &path,
            &[],
            Some(raw("application/json", b"{\"type\": ")),
        )
        .await
        .expect(400);
        lrs.post(&app, &path, json!("a string")).await.expect(400);
        assert_eq!(lrs.get(&app, &path).await.body, merged, "{path}");
    }

    // Onto a document that is not JSON.
    let path = activity_profile(COURSE, Some("binary"));
    lrs.send(
        &app,
        Method::PUT,
        &path,
        &[("If-None-Match", "*")],
        Some(raw("application/octet-stream", b"/ asdf / undefined")),
    )
    .await
    .expect(204);
    lrs.post(&app, &path, json!({"type": "Civic"}))
        .await
        .expect(400);
    let unchanged = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
    assert_eq!(unchanged.bytes, b"/ asdf / undefined");
}

/// 2.6.s4 and 2.7.s4: a GET without profileId answers the array of profileIds of the activity
/// (or agent), and `since` keeps those stored after that time.
async fn listing_profiles_answers_their_ids_and_since_keeps_the_later_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    type PathFor = fn(Option<&str>) -> String;
    let resources: [(PathFor, PathFor); 2] = [
        (
            |id| activity_profile(COURSE, id),
            |id| activity_profile(OTHER_COURSE, id),
        ),
        (
            |id| agent_profile(&ann(), id),
            |id| agent_profile(&bob(), id),
        ),
    ];
    for (path_for, other_for) in resources {
        let list = path_for(None);
        assert_eq!(
            document_ids(&lrs.get(&app, &list).await),
            Vec::<String>::new()
        );
        let start = now_param();
        lrs.post(&app, &path_for(Some("alpha")), json!({}))
            .await
            .expect(204);
        let between = now_param();
        lrs.post(&app, &path_for(Some("beta")), json!({}))
            .await
            .expect(204);
        lrs.post(&app, &other_for(Some("gamma")), json!({}))
            .await
            .expect(204);

        assert_eq!(
            document_ids(&lrs.get(&app, &list).await),
            ["alpha", "beta"],
            "{list}"
        );
        let since = |at: &str| format!("{list}&since={}", encode(at));
        assert_eq!(
            document_ids(&lrs.get(&app, &since(&start)).await),
            ["alpha", "beta"]
        );
        assert_eq!(
            document_ids(&lrs.get(&app, &since(&between)).await),
            ["beta"]
        );
        assert_eq!(
            document_ids(&lrs.get(&app, &other_for(None)).await),
            ["gamma"]
        );
        lrs.get(&app, &since("not a timestamp")).await.expect(400);
    }
}

/// 2.6.s3 and 2.7.s3: a profile DELETE must name the profile (there is no "delete all"):
/// without profileId it is 400, and nothing is deleted.
async fn a_profile_delete_must_name_the_profile(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    for path_for in [
        |id| activity_profile(COURSE, id),
        |id| agent_profile(&ann(), id),
    ] as [fn(Option<&str>) -> String; 2]
    {
        lrs.post(&app, &path_for(Some("kept")), json!({}))
            .await
            .expect(204);
        lrs.delete(&app, &path_for(None)).await.expect(400);
        lrs.get(&app, &path_for(Some("kept"))).await.expect(200);
    }
}

on_both_backends!(
    activity_profile_writes_are_optimistically_concurrent,
    agent_profile_writes_are_optimistically_concurrent,
    posting_to_a_profile_merges_json_objects,
    listing_profiles_answers_their_ids_and_since_keeps_the_later_ones,
    a_profile_delete_must_name_the_profile,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// The concurrency requirements of Communication 3.1, on a profile resource whose document
/// `path_for(id)` addresses.
async fn concurrency_scenario(app: &TestApp, lrs: &Lrs, path_for: impl Fn(&str) -> String) {
    let path = path_for("settings");
    let first = json!({"theme": "dark"});

    // If-None-Match: * creates a document that does not exist...
    let created = put_with(lrs, app, &path, &[("If-None-Match", "*")], first.clone()).await;
    created.expect(204);
    let first_tag = sha1_etag(&serde_json::to_vec(&first).unwrap());
    assert_eq!(created.header("etag"), Some(first_tag.as_str()));
    // ...and only then.
    put_with(
        lrs,
        app,
        &path,
        &[("If-None-Match", "*")],
        json!({"theme": "light"}),
    )
    .await
    .expect(412);
    assert_eq!(lrs.get(app, &path).await.body, first);

    // Neither header, over an existing document: 409, explained, and nothing changed.
    let conflict = lrs.put(app, &path, json!({"theme": "light"})).await;
    conflict.expect(409);
    assert!(
        conflict.body["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{:#}",
        conflict.body
    );
    assert_eq!(lrs.get(app, &path).await.body, first);

    // If-Match with the ETag a GET answered: replaced, with a new ETag.
    let current = lrs.get(app, &path).await;
    let current_tag = current.header("etag").unwrap().to_owned();
    assert_eq!(current_tag, first_tag);
    let second = json!({"theme": "light", "font": "large"});
    let updated = put_with(
        lrs,
        app,
        &path,
        &[("If-Match", &current_tag)],
        second.clone(),
    )
    .await;
    updated.expect(204);
    let second_tag = sha1_etag(&serde_json::to_vec(&second).unwrap());
    assert_ne!(second_tag, first_tag);
    assert_eq!(updated.header("etag"), Some(second_tag.as_str()));
    let fetched = lrs.get(app, &path).await;
    assert_eq!(fetched.body, second);
    assert_eq!(fetched.header("etag"), Some(second_tag.as_str()));

    // A stale If-Match (and a made-up one): 412, and nothing changed.
    for stale in [
        first_tag.as_str(),
        "\"1111111111111111111111111111111111111111\"",
    ] {
        put_with(
            lrs,
            app,
            &path,
            &[("If-Match", stale)],
            json!({"theme": "blue"}),
        )
        .await
        .expect(412);
    }
    assert_eq!(lrs.get(app, &path).await.body, second);

    // If-Match on a document that does not exist: 412, and it is not created.
    let absent = path_for("absent");
    put_with(lrs, app, &absent, &[("If-Match", &second_tag)], json!({}))
        .await
        .expect(412);
    put_with(lrs, app, &absent, &[("If-Match", "*")], json!({}))
        .await
        .expect(412);
    lrs.get(app, &absent).await.expect(404);

    // DELETE with a stale If-Match: 412, still there; with the current one: deleted.
    lrs.send(
        app,
        Method::DELETE,
        &path,
        &[("If-Match", &first_tag)],
        None,
    )
    .await
    .expect(412);
    assert_eq!(lrs.get(app, &path).await.body, second);
    lrs.send(
        app,
        Method::DELETE,
        &path,
        &[("If-Match", &second_tag)],
        None,
    )
    .await
    .expect(204);
    lrs.get(app, &path).await.expect(404);
}
