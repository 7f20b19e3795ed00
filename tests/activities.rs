//! The activity catalogue: `/v1/activities` and the shipped CSTF file.

mod support;

use serde_json::json;
use support::{Method, TestApp};

async fn the_shipped_cstf_catalogue_imports_and_is_searchable(app: TestApp) {
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reference/activities/cstf.json"
    ))
    .unwrap();
    let db = app.db.clone();
    let imported = actix_web::rt::task::spawn_blocking(move || {
        learning_passport::activities::import(&mut db.get().unwrap(), &file).unwrap()
    })
    .await
    .unwrap();
    assert!(imported >= 11, "the CSTF has at least eleven subjects");

    let alice = app.person_token("alice");
    let all = app.get("/v1/activities?limit=200", &alice).await;
    all.expect(200);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), imported);
    for activity in items {
        assert_eq!(activity["kind"], "statutory_mandatory");
        // Every refresher period says where it comes from.
        if !activity["refresher_months"].is_null() {
            assert!(
                activity["source"].as_str().is_some_and(|s| !s.is_empty()),
                "{activity}"
            );
        }
    }
    let fire = app.get("/v1/activities?q=fire", &alice).await;
    assert_eq!(fire.body["items"].as_array().unwrap().len(), 1);
    let paged = app.get("/v1/activities?limit=5", &alice).await;
    let next = app
        .get(
            &format!(
                "/v1/activities?limit=5&cursor={}",
                paged.body["next_cursor"].as_str().unwrap()
            ),
            &alice,
        )
        .await;
    assert!(
        next.body["items"][0]["code"].as_str().unwrap()
            > paged.body["items"][4]["code"].as_str().unwrap()
    );

    // Importing again replaces, never duplicates.
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reference/activities/cstf.json"
    ))
    .unwrap();
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        learning_passport::activities::import(&mut db.get().unwrap(), &file).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        app.get("/v1/activities?limit=200", &alice).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        imported
    );
}

async fn an_administrator_maintains_the_catalogue(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    let platform = app.org("Platform", "records:write shared:read").await;
    let body = json!({"title": "Sepsis awareness", "kind": "course", "level": null, "refresher_months": 24, "publisher": "Trust L&D", "source": "Trust policy 12.3"});
    let created = app
        .call(
            Method::PUT,
            "/v1/activities/TRUST-SEPSIS",
            Some(&admin.token),
            Some(body.clone()),
        )
        .await;
    created.expect(201);
    snapshot!("activity", created.body);
    let mut changed = body.clone();
    changed["refresher_months"] = json!(36);
    let replaced = app
        .call(
            Method::PUT,
            "/v1/activities/TRUST-SEPSIS",
            Some(&admin.token),
            Some(changed),
        )
        .await;
    replaced.expect(200);
    assert_eq!(replaced.body["refresher_months"], 36);

    app.call(
        Method::PUT,
        "/v1/activities/TRUST-SEPSIS",
        Some(&platform.token),
        Some(body.clone()),
    )
    .await
    .expect_problem(403);
    app.call(
        Method::PUT,
        "/v1/activities/TRUST-SEPSIS",
        Some(&app.person_token("alice")),
        Some(body.clone()),
    )
    .await
    .expect_problem(403);

    let mut bad = body.clone();
    bad["refresher_months"] = json!(0);
    app.call(
        Method::PUT,
        "/v1/activities/TRUST-X",
        Some(&admin.token),
        Some(bad),
    )
    .await
    .expect_field_error(422, "refresher_months");
    app.call(
        Method::PUT,
        "/v1/activities/has%20space",
        Some(&admin.token),
        Some(body.clone()),
    )
    .await
    .expect_field_error(422, "code");
    let mut no_title = body.clone();
    no_title.as_object_mut().unwrap().remove("title");
    app.call(
        Method::PUT,
        "/v1/activities/TRUST-Y",
        Some(&admin.token),
        Some(no_title),
    )
    .await
    .expect_field_error(422, "title");
    let codes: Vec<String> = app.get("/v1/activities", &admin.token).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, vec!["TRUST-SEPSIS"]);
    app.call(Method::GET, "/v1/activities", None, None)
        .await
        .expect_problem(401);
}

async fn a_malformed_import_names_the_place_and_changes_nothing(app: TestApp) {
    let db = app.db.clone();
    let error = actix_web::rt::task::spawn_blocking(move || {
        learning_passport::activities::import(
            &mut db.get().unwrap(),
            r#"{"activities": [{"code": "OK-1", "title": "Fine", "kind": "course", "refresher_months": 12, "publisher": "P"},
                               {"code": "BAD 2", "title": "", "kind": "course", "refresher_months": 12, "publisher": "P"}]}"#,
        )
        .unwrap_err()
    })
    .await
    .unwrap();
    let learning_passport::error::Error::Validation(errors) = error else {
        panic!("expected a validation error")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["activities[1].code", "activities[1].title"]);
    assert_eq!(
        app.get("/v1/activities", &app.person_token("alice"))
            .await
            .body["items"],
        json!([])
    );
}

on_both_backends!(
    the_shipped_cstf_catalogue_imports_and_is_searchable,
    an_administrator_maintains_the_catalogue,
    a_malformed_import_names_the_place_and_changes_nothing,
);
