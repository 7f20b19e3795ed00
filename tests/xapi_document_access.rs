//! Who may use the LRS's document resources, and in which version (xAPI 1.0.3, Communication
//! 3.3 and 4.0): each organisation's documents are its own, writing them needs
//! `records:write`, only an organisation client is answered, and every request must name a
//! 1.0.x version while every answer names 1.0.3. Each test names the requirement it checks.

mod support;

use serde_json::json;
use support::xapi::*;
use support::{Method, Reply, TestApp};

// ---------------------------------------------------------------------------------------------
// Isolation and authorisation (Communication 4.0)

/// Each organisation's documents are its own: another organisation's client finds none of
/// them (404, empty lists), its DELETE removes nothing of theirs, and its PUT stores a
/// document of its own, leaving theirs unchanged.
async fn another_organisation_cannot_see_or_touch_the_documents(app: TestApp) {
    let a = Lrs::new(&app, "Trust A").await;
    let b = Lrs::new(&app, "Trust B").await;
    let documents = [
        state(COURSE, &ann(), None, Some("bookmark")),
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ];
    let lists = [
        state(COURSE, &ann(), None, None),
        activity_profile(COURSE, None),
        agent_profile(&ann(), None),
    ];
    for path in &documents {
        a.post(&app, path, json!({"owner": "A"})).await.expect(204);
    }
    for (path, list) in documents.iter().zip(&lists) {
        b.get(&app, path).await.expect(404);
        let listed = b.get(&app, list).await;
        listed.expect(200);
        assert_eq!(listed.body, json!([]), "{list}");

        b.delete(&app, path).await.expect(204);
        b.post(&app, path, json!({"merged": "B"})).await.expect(204);
        put_with(
            &b,
            &app,
            path,
            &[("If-None-Match", "*")],
            json!({"owner": "B"}),
        )
        .await
        .expect(412);
        assert_eq!(b.get(&app, path).await.body, json!({"merged": "B"}));

        let theirs = a.get(&app, path).await;
        theirs.expect(200);
        assert_eq!(theirs.body, json!({"owner": "A"}), "{path}");
    }
    b.delete(&app, &lists[0]).await.expect(204);
    assert_eq!(document_ids(&a.get(&app, &lists[0]).await), ["bookmark"]);
}

/// Writing documents needs the records:write scope: a client with only shared:read can read
/// them but is refused (403) every PUT, POST and DELETE, which change nothing.
async fn a_client_without_records_write_can_read_but_not_write(app: TestApp) {
    let writer = Lrs::new(&app, "LMS").await;
    let org = writer.client.clone();
    // A reader of the same organisation: another client of it, with shared:read only.
    let reader = reader_of(&app, &org).await;
    let documents = [
        state(COURSE, &ann(), None, Some("bookmark")),
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ];
    for path in &documents {
        writer.post(&app, path, json!({"v": 1})).await.expect(204);
        let read = reader.get(&app, path).await;
        read.expect(200);
        assert_eq!(read.body, json!({"v": 1}));
        put_with(
            &reader,
            &app,
            path,
            &[("If-None-Match", "*")],
            json!({"v": 2}),
        )
        .await
        .expect(403);
        let etag = read.header("etag").unwrap().to_owned();
        put_with(&reader, &app, path, &[("If-Match", &etag)], json!({"v": 2}))
            .await
            .expect(403);
        reader.post(&app, path, json!({"v": 2})).await.expect(403);
        reader.delete(&app, path).await.expect(403);
        assert_eq!(writer.get(&app, path).await.body, json!({"v": 1}), "{path}");
    }
    reader
        .delete(&app, &state(COURSE, &ann(), None, None))
        .await
        .expect(403);
    writer.get(&app, &documents[0]).await.expect(200);

    // A shared:read client of an organisation of its own: nothing of this one to read, and
    // no right to write.
    let other = Lrs::with_scopes(&app, "HR", "shared:read").await;
    other.get(&app, &documents[0]).await.expect(404);
    put_with(&other, &app, &documents[0], &[], json!({}))
        .await
        .expect(403);
    other.post(&app, &documents[0], json!({})).await.expect(403);
    other.delete(&app, &documents[0]).await.expect(403);
}

/// Communication 4.0: the LRS answers only an organisation client. Without credentials a
/// request is 401 (with a Basic challenge); a person's bearer token is 403.
async fn the_document_resources_need_an_organisation_client(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    let person = app.person_token("x");
    let all = [Method::GET, Method::PUT, Method::POST, Method::DELETE];
    let requests = [
        (path.clone(), &all[..]),
        (activity_profile(COURSE, Some("settings")), &all[..]),
        (agent_profile(&ann(), Some("preferences")), &all[..]),
        (query("/activities", &[("activityId", COURSE)]), &all[..1]),
        (
            query("/agents", &[("agent", &ann().to_string())]),
            &all[..1],
        ),
    ];
    for (path, methods) in requests {
        for method in methods {
            let anonymous = without_client(&app, method.clone(), &path, None).await;
            anonymous.expect(401);
            assert!(
                anonymous
                    .headers
                    .get_all("www-authenticate")
                    .iter()
                    .any(|c| c.to_str().is_ok_and(|c| c.starts_with("Basic"))),
                "{method} {path}: {:?}",
                anonymous.headers
            );
            without_client(&app, method.clone(), &path, Some(&person))
                .await
                .expect(403);
        }
    }
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));
}

// ---------------------------------------------------------------------------------------------
// Versions (Communication 1.2, 3.3)

/// 3.3: every answer of the document resources — success or error — carries
/// X-Experience-API-Version: 1.0.3.
async fn every_document_answer_names_the_xapi_version(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let reader = Lrs::with_scopes(&app, "HR", "shared:read").await;
    let state_path = state(COURSE, &ann(), None, Some("bookmark"));
    let profile = activity_profile(COURSE, Some("settings"));
    let mut answers: Vec<(String, Reply)> = Vec::new();
    let mut note = |what: &str, reply: Reply| answers.push((what.to_owned(), reply));
    note("PUT 204", lrs.put(&app, &state_path, json!({})).await);
    note("GET 200", lrs.get(&app, &state_path).await);
    note(
        "list 200",
        lrs.get(&app, &state(COURSE, &ann(), None, None)).await,
    );
    note(
        "POST 204",
        lrs.post(&app, &state_path, json!({"a": 1})).await,
    );
    note(
        "GET 404",
        lrs.get(&app, &state(COURSE, &bob(), None, Some("x"))).await,
    );
    note("GET 400", lrs.get(&app, "/activities/state").await);
    note(
        "POST 400",
        lrs.send(
            &app,
            Method::POST,
            &state_path,
            &[],
            Some(raw("text/plain", b"x")),
        )
        .await,
    );
    note(
        "PUT 204 profile",
        put_with(&lrs, &app, &profile, &[("If-None-Match", "*")], json!({})).await,
    );
    note("PUT 409", lrs.put(&app, &profile, json!({})).await);
    note(
        "PUT 412",
        put_with(&lrs, &app, &profile, &[("If-None-Match", "*")], json!({})).await,
    );
    note("PUT 403", reader.put(&app, &state_path, json!({})).await);
    note("DELETE 204", lrs.delete(&app, &state_path).await);
    note(
        "activities 200",
        lrs.get(&app, &query("/activities", &[("activityId", COURSE)]))
            .await,
    );
    note(
        "agents 200",
        lrs.get(&app, &query("/agents", &[("agent", &ann().to_string())]))
            .await,
    );
    note(
        "401",
        without_client(&app, Method::GET, &state_path, None).await,
    );
    for (what, reply) in &answers {
        assert_eq!(
            reply.header("x-experience-api-version"),
            Some("1.0.3"),
            "{what} ({})",
            reply.status
        );
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [
            204, 200, 200, 204, 404, 400, 400, 204, 409, 412, 403, 204, 200, 200, 401
        ]
    );
}

/// 3.3 (Communication 1.2): a request without X-Experience-API-Version, or with a version that
/// is not 1.0.x (nor 2.0.x), is refused with 400, and changes nothing.
async fn a_request_without_the_version_header_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    for version in [None, Some("0.95"), Some("2.1.0")] {
        let mut unversioned = lrs.clone();
        unversioned.version = version.map(str::to_owned);
        for path in [
            path.clone(),
            activity_profile(COURSE, Some("settings")),
            agent_profile(&ann(), Some("preferences")),
        ] {
            for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
                let body = (method == Method::PUT || method == Method::POST)
                    .then(|| Body::Json(json!({"page": 2})));
                let headers: &[(&str, &str)] = if method == Method::PUT {
                    &[("If-None-Match", "*")]
                } else {
                    &[]
                };
                let reply = unversioned
                    .send(&app, method.clone(), &path, headers, body)
                    .await;
                assert_eq!(
                    reply.status.as_u16(),
                    400,
                    "{version:?} {method} {path}: {:#}",
                    reply.body
                );
                assert_eq!(reply.header("x-experience-api-version"), Some("2.0.0"));
            }
        }
    }
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));
    lrs.get(&app, &activity_profile(COURSE, Some("settings")))
        .await
        .expect(404);
}

on_both_backends!(
    another_organisation_cannot_see_or_touch_the_documents,
    a_client_without_records_write_can_read_but_not_write,
    the_document_resources_need_an_organisation_client,
    every_document_answer_names_the_xapi_version,
    a_request_without_the_version_header_is_refused,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A request with the version header and, at most, a bearer token: no client credentials.
async fn without_client(app: &TestApp, method: Method, path: &str, bearer: Option<&str>) -> Reply {
    let mut request = app
        .http
        .request(method.clone(), app.url(&format!("/xapi{path}")))
        .header("X-Experience-API-Version", VERSION);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if method == Method::PUT || method == Method::POST {
        request = request.json(&json!({"page": 9}));
    }
    Reply::from(request.send().await.unwrap()).await
}

/// A second client of `org`'s organisation holding only shared:read.
async fn reader_of(app: &TestApp, org: &support::OrgClient) -> Lrs {
    let organisation: uuid::Uuid = org.organisation_id.parse().unwrap();
    let db = app.db.clone();
    let client = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let scopes = learning_passport::auth::Scopes::parse("shared:read").unwrap();
        learning_passport::organisations::create_client(
            &mut conn,
            learning_passport::db::ids::OrganisationId(organisation),
            &scopes,
        )
        .unwrap()
    })
    .await
    .unwrap();
    Lrs {
        client: support::OrgClient {
            organisation_id: org.organisation_id.clone(),
            client_id: client.client_id,
            client_secret: client.client_secret,
            token: String::new(),
        },
        version: Some(VERSION.into()),
    }
}
