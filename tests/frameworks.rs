//! Learning-outcomes frameworks as data: publishing, checks of their shape, and CASE import.
//! Attainment of their outcomes is in `attainments.rs`.

mod support;

use serde_json::{Value, json};
use support::{Method, OrgClient, TestApp};

fn example() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/frameworks/dghp-lof-example.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

async fn publish(app: &TestApp, admin: &OrgClient, framework: &Value) -> support::Reply {
    let path = format!(
        "/v1/frameworks/{}/{}",
        framework["code"].as_str().unwrap(),
        framework["version"].as_str().unwrap()
    );
    app.call(
        Method::PUT,
        &path,
        Some(&admin.token),
        Some(framework.clone()),
    )
    .await
}

async fn a_framework_is_published_once_and_read_by_anyone(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    let framework = example();
    let published = publish(&app, &admin, &framework).await;
    published.expect(201);
    assert_eq!(published.body, framework);
    publish(&app, &admin, &framework).await.expect(200);

    // Published versions are immutable; changes come as a new version.
    let mut changed = framework.clone();
    changed["domains"][0]["outcomes"][0]["title"] = json!("A different outcome");
    publish(&app, &admin, &changed).await.expect_problem(409);
    changed["version"] = json!("0.2-example");
    publish(&app, &admin, &changed).await.expect(201);

    let list = app
        .http
        .get(app.url("/v1/frameworks"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["outcome_count"], 7);
    let old: Value = app
        .http
        .get(app.url("/v1/frameworks/dghp-lof-example/0.1-example"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old, framework, "the old version is unchanged");
    assert!(old["title"].as_str().unwrap().starts_with("EXAMPLE ONLY"));
    let missing = app
        .http
        .get(app.url("/v1/frameworks/dghp-lof-example/9"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Only administrators publish.
    let platform = app.org("Platform", "records:write shared:read").await;
    publish(&app, &platform, &framework)
        .await
        .expect_problem(403);
    let mut other = framework.clone();
    other["version"] = json!("0.3");
    app.call(
        Method::PUT,
        "/v1/frameworks/dghp-lof-example/0.4",
        Some(&admin.token),
        Some(other),
    )
    .await
    .expect_field_error(422, "version");
}

async fn malformed_frameworks_name_the_place(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    let mut bad = example();
    bad["version"] = json!("bad-1");
    bad["levels"][1]["level"] = json!(5);
    bad["domains"][1]["outcomes"][0]["code"] = json!("EX-PART-01");
    bad["domains"][2]["outcomes"][0]["level_descriptors"][0]["level"] = json!(9);
    let reply = publish(&app, &admin, &bad).await;
    reply.expect_field_error(422, "levels[1].level");
    reply.expect_field_error(422, "domains[1].outcomes[0].code");
    reply.expect_field_error(422, "domains[2].outcomes[0].level_descriptors[0].level");
    let mut unknown = example();
    unknown["domains"][0]["outcomes"][1]["weight"] = json!(3);
    unknown["version"] = json!("bad-2");
    publish(&app, &admin, &unknown)
        .await
        .expect_field_error(422, "domains[0].outcomes[1].weight");

    let db_error = actix_web::rt::task::spawn_blocking({
        let app_db = app.db.clone();
        move || learning_passport::frameworks::import(&mut app_db.get().unwrap(), r#"{"code": "x", "version": "1", "title": "t", "publisher": "p", "levels": [{"level": 1, "name": "one"}], "domains": [{"code": "D", "title": "d"}]}"#).unwrap_err()
    })
    .await
    .unwrap();
    let learning_passport::error::Error::Validation(errors) = db_error else {
        panic!("expected a validation error")
    };
    assert_eq!(errors[0].field, "domains[0].outcomes");
    assert_eq!(
        app.http
            .get(app.url("/v1/frameworks"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["items"],
        json!([])
    );
}

async fn a_case_package_is_imported_and_what_was_skipped_reported(app: TestApp) {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/frameworks/case-example.json"
    ))
    .unwrap();
    let imported = actix_web::rt::task::spawn_blocking({
        let app_db = app.db.clone();
        move || learning_passport::frameworks::import(&mut app_db.get().unwrap(), &json).unwrap()
    })
    .await
    .unwrap();
    let report = imported.case.unwrap();
    assert_eq!(
        (report.code.as_str(), report.version.as_str()),
        ("example-digital", "1.0")
    );
    assert_eq!((report.domains, report.outcomes), (2, 3));
    let skipped = report.skipped.join("\n");
    assert!(skipped.contains("isRelatedTo"), "{skipped}");
    assert!(skipped.contains("item-orphan"), "{skipped}");
    assert!(skipped.contains("CFDefinitions"), "{skipped}");
    assert!(skipped.contains("level scale"), "{skipped}");
    let framework: Value = app
        .http
        .get(app.url("/v1/frameworks/example-digital/1.0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = framework["domains"][0]["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["DIG-1.1", "DIG-1.1.a"]);
    assert_eq!(framework["levels"].as_array().unwrap().len(), 4);

    let broken = actix_web::rt::task::spawn_blocking({
        let app_db = app.db.clone();
        move || {
            learning_passport::frameworks::import(
                &mut app_db.get().unwrap(),
                r#"{"CFDocument": {"identifier": "x"}, "CFItems": []}"#,
            )
            .unwrap_err()
        }
    })
    .await
    .unwrap();
    let learning_passport::error::Error::Validation(errors) = broken else {
        panic!("expected a validation error")
    };
    assert!(errors[0].field.starts_with("CFDocument"), "{errors:?}");
}

on_both_backends!(
    a_framework_is_published_once_and_read_by_anyone,
    malformed_frameworks_name_the_place,
    a_case_package_is_imported_and_what_was_skipped_reported,
);
