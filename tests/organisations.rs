//! Organisation administration through the API: the host's (scope `admin`) over every
//! organisation, an organisation's own (scope `clients:manage`) over its own clients only.

mod support;

use serde_json::json;
use support::TestApp;

async fn an_administrator_registers_an_organisation_and_its_clients(app: TestApp) {
    let admin = app.org("Passport Administration", "admin").await;
    let created = app
        .post(
            "/v1/organisations",
            &admin.token,
            json!({"name": "Leeds Teaching Hospitals", "ods_code": "rr8"}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["ods_code"], "RR8");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/organisations/{id}").as_str())
    );
    snapshot!("organisation_created", created.body);

    let client = app
        .post(
            &format!("/v1/organisations/{id}/clients"),
            &admin.token,
            json!({"scopes": ["shared:read"]}),
        )
        .await;
    client.expect(201);
    assert_eq!(client.header("cache-control"), Some("no-store"));
    let client_id = client.body["client_id"].as_str().unwrap().to_owned();
    let secret = client.body["client_secret"].as_str().unwrap().to_owned();

    // The new client can get a token; the list never shows the secret.
    let token = app
        .http
        .post(app.url("/v1/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token: serde_json::Value = token.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let listed = app
        .get(&format!("/v1/organisations/{id}/clients"), &admin.token)
        .await;
    listed.expect(200);
    assert_eq!(listed.body["items"][0]["client_id"], client_id.as_str());
    assert!(listed.body["next_cursor"].is_null());
    assert!(!listed.body.to_string().contains(&secret));

    // Revocation stops its tokens at once, and its secret.
    app.get("/v1/grants", &token).await.expect(200);
    let revoked = app
        .delete(
            &format!("/v1/organisations/{id}/clients/{client_id}"),
            &admin.token,
        )
        .await;
    revoked.expect(200);
    assert!(revoked.body["revoked_at"].is_string());
    app.get("/v1/grants", &token).await.expect_problem(401);
    let again = app
        .http
        .post(app.url("/v1/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}

async fn administration_needs_the_admin_scope(app: TestApp) {
    let employer = app.org("Employer", "shared:read records:write").await;
    let alice = app.person_token("alice");
    let body = json!({"name": "Sneaky"});
    app.post("/v1/organisations", &employer.token, body.clone())
        .await
        .expect_problem(403);
    app.post("/v1/organisations", &alice, body.clone())
        .await
        .expect_problem(403);
    let path = format!("/v1/organisations/{}/clients", employer.organisation_id);
    app.get(&path, &employer.token).await.expect_problem(403);
    app.post(&path, &employer.token, json!({"scopes": ["admin"]}))
        .await
        .expect_problem(403);
    app.delete(&format!("{path}/{}", employer.client_id), &employer.token)
        .await
        .expect_problem(403);
    app.get(&path, &alice).await.expect_problem(403);
    let names: Vec<String> = app.get("/v1/organisations", &alice).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["Employer"], "nothing was created");
}

async fn bad_organisation_input_is_refused(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    app.post("/v1/organisations", &admin.token, json!({"name": ""}))
        .await
        .expect_field_error(422, "name");
    app.post(
        "/v1/organisations",
        &admin.token,
        json!({"name": "x", "ods_code": "R R8"}),
    )
    .await
    .expect_field_error(422, "ods_code");
    app.post(
        "/v1/organisations",
        &admin.token,
        json!({"name": "x", "colour": "red"}),
    )
    .await
    .expect_field_error(422, "colour");
    app.post(
        "/v1/organisations",
        &admin.token,
        json!({"name": "First", "ods_code": "RR8"}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/organisations",
        &admin.token,
        json!({"name": "Second", "ods_code": "rr8"}),
    )
    .await
    .expect_problem(409);
    // A duplicate is named in the API's words, never by a database constraint.
    let duplicate = app
        .post(
            "/v1/organisations",
            &admin.token,
            json!({"name": "Third", "ods_code": "RR8"}),
        )
        .await;
    let detail = duplicate.body["detail"].as_str().unwrap();
    assert!(detail.contains("ODS code"), "{detail}");
    assert!(!detail.contains("organisations_ods_code") && !detail.contains("UNIQUE"));
    let path = format!("/v1/organisations/{}/clients", admin.organisation_id);
    app.post(&path, &admin.token, json!({"scopes": []}))
        .await
        .expect_field_error(422, "scopes");
    app.post(&path, &admin.token, json!({"scopes": ["root"]}))
        .await
        .expect_field_error(422, "scopes[0]");
    app.post(
        "/v1/organisations/0190a000-0000-7000-8000-000000000000/clients",
        &admin.token,
        json!({"scopes": ["admin"]}),
    )
    .await
    .expect_problem(404);
    app.delete(&format!("{path}/lpc_nobody"), &admin.token)
        .await
        .expect_problem(404);
}

async fn an_organisation_administers_its_own_clients_and_nobody_elses(app: TestApp) {
    let trust = app
        .org("Trust", "shared:read records:write clients:manage")
        .await;
    let other = app.org("Other trust", "shared:read").await;
    let own = format!("/v1/organisations/{}/clients", trust.organisation_id);
    let theirs = format!("/v1/organisations/{}/clients", other.organisation_id);

    // Its own: list, add (within its own scopes), revoke.
    app.get(&own, &trust.token).await.expect(200);
    let added = app
        .post(&own, &trust.token, json!({"scopes": ["shared:read"]}))
        .await;
    added.expect(201);
    let added_id = added.body["client_id"].as_str().unwrap().to_owned();
    app.delete(&format!("{own}/{added_id}"), &trust.token)
        .await
        .expect(200);

    // Never `admin`, nor a scope it does not hold itself.
    let partial = app.org("Partial", "shared:read clients:manage").await;
    let partial_path = format!("/v1/organisations/{}/clients", partial.organisation_id);
    for scopes in [json!(["admin"]), json!(["records:write"])] {
        app.post(&partial_path, &partial.token, json!({"scopes": scopes}))
            .await
            .expect_field_error(422, "scopes");
    }

    // Another organisation's clients: not listed, not added to, not revoked.
    app.get(&theirs, &trust.token).await.expect_problem(403);
    app.post(&theirs, &trust.token, json!({"scopes": ["shared:read"]}))
        .await
        .expect_problem(403);
    app.delete(&format!("{theirs}/{}", other.client_id), &trust.token)
        .await
        .expect_problem(403);
    // The other organisation's client still works.
    app.get("/v1/grants", &other.token).await.expect(200);
    // Nor can it register organisations: that is the host's.
    app.post("/v1/organisations", &trust.token, json!({"name": "Sneaky"}))
        .await
        .expect_problem(403);

    // The host's administrator manages any organisation's clients.
    let host = app.org("Host", "admin").await;
    app.get(&theirs, &host.token).await.expect(200);
    app.delete(&format!("{theirs}/{}", other.client_id), &host.token)
        .await
        .expect(200);
    app.get("/v1/grants", &other.token)
        .await
        .expect_problem(401);
}

fn client_ids(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_organisations_clients_are_paged_oldest_first(app: TestApp) {
    let trust = app.org("Trust", "shared:read clients:manage").await;
    let own = format!("/v1/organisations/{}/clients", trust.organisation_id);
    let mut created = vec![trust.client_id.clone()];
    for _ in 0..4 {
        let added = app
            .post(&own, &trust.token, json!({"scopes": ["shared:read"]}))
            .await;
        added.expect(201);
        created.push(added.body["client_id"].as_str().unwrap().to_owned());
    }

    // Without paging parameters: all five, oldest first.
    let all = app.get(&own, &trust.token).await;
    all.expect(200);
    assert_eq!(client_ids(&all.body), created);
    assert!(all.body["next_cursor"].is_null());

    // Pages of two: each client once, in order; the last page has a null cursor.
    let mut listed = Vec::new();
    let mut path = format!("{own}?limit=2");
    let mut pages = 0;
    let last_page = loop {
        let page = app.get(&path, &trust.token).await;
        page.expect(200);
        pages += 1;
        listed.extend(client_ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{own}?limit=2&cursor={cursor}"),
            None => break path,
        }
    };
    assert_eq!(pages, 3);
    assert_eq!(listed, created);
    // A client added meanwhile comes after those already listed, on the last page.
    let added = app
        .post(&own, &trust.token, json!({"scopes": ["shared:read"]}))
        .await;
    let last = app.get(&last_page, &trust.token).await;
    assert_eq!(
        client_ids(&last.body),
        vec![
            created[4].clone(),
            added.body["client_id"].as_str().unwrap().to_owned()
        ]
    );

    // Bad paging parameters are refused, naming the parameter.
    for bad in ["limit=0", "limit=201", "limit=many"] {
        app.get(&format!("{own}?{bad}"), &trust.token)
            .await
            .expect_field_error(422, "limit");
    }
    app.get(&format!("{own}?cursor=%2A%2A"), &trust.token)
        .await
        .expect_field_error(422, "cursor");

    // Another organisation's administrator, and a person, are refused whatever they ask for,
    // a page with a good cursor or bad paging parameters alike.
    let other = app.org("Other trust", "shared:read clients:manage").await;
    let alice = app.person_token("alice");
    for token in [&other.token, &alice] {
        for query in ["", "?limit=2", &last_page[own.len()..], "?limit=0"] {
            app.get(&format!("{own}{query}"), token)
                .await
                .expect_problem(403);
        }
    }
    // The host's administrator pages any organisation's clients.
    let host = app.org("Host", "admin").await;
    let page = app.get(&format!("{own}?limit=2"), &host.token).await;
    assert_eq!(client_ids(&page.body), created[..2].to_vec());
    app.get(
        "/v1/organisations/0190a000-0000-7000-8000-000000000000/clients?limit=2",
        &host.token,
    )
    .await
    .expect_problem(404);
}

on_both_backends!(
    an_organisations_clients_are_paged_oldest_first,
    an_organisation_administers_its_own_clients_and_nobody_elses,
    an_administrator_registers_an_organisation_and_its_clients,
    administration_needs_the_admin_scope,
    bad_organisation_input_is_refused,
);
