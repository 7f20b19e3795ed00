//! The LRS's Statements resource, requirement by requirement, as xAPI 1.0.3 states them
//! (Communication 1-4 and Data 2; section numbers are the specification's). Where the
//! specification leaves room, the ADL LRS conformance test suite decides.

mod support;

use chrono::DateTime;
use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, Reply, TestApp};
use uuid::Uuid;

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const COURSE: &str = "http://example.com/courses/fire-safety";

// Versions (Communication 3.3) ---------------------------------------------------------------

/// Communication 3.3: an LRS accepts requests of every 1.0.x version, and answers every
/// request with `X-Experience-API-Version` set to the latest patch version it supports (1.0.3).
async fn every_1_0_x_version_is_accepted_and_answered_as_1_0_3(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in ["1.0.0", "1.0.1", "1.0.2", "1.0.3"] {
        let client = Lrs {
            version: Some(version.into()),
            ..lrs.clone()
        };
        let stored = client
            .post(
                &app,
                "/statements",
                statement("ann@example.com", "completed", COURSE),
            )
            .await;
        stored.expect(200);
        assert_eq!(stored.header("x-experience-api-version"), Some("1.0.3"));
        let id = stored.body[0].as_str().unwrap();
        let fetched = client.statement(&app, id).await;
        fetched.expect(200);
        assert_eq!(fetched.header("x-experience-api-version"), Some("1.0.3"));
    }
    assert_eq!(lrs.query(&app, "").await.len(), 4);
}

/// Communication 3.3: a request without `X-Experience-API-Version`, or naming a version the
/// LRS does not speak (anything but 1.0.x), is refused with 400 and changes nothing; the
/// refusal still names the LRS's version.
async fn a_missing_or_unknown_version_is_refused_and_nothing_is_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in [
        None,
        Some("0.95"),
        Some("1.1.0"),
        Some("2.0.0"),
        Some("1.0.x"),
    ] {
        let client = Lrs {
            version: version.map(str::to_owned),
            ..lrs.clone()
        };
        let id = Uuid::new_v4().to_string();
        let posted = client.post(&app, "/statements", with_id(base(), &id)).await;
        posted.expect_problem(400);
        assert_eq!(posted.header("x-experience-api-version"), Some("1.0.3"));
        client
            .put(&app, &format!("/statements?statementId={id}"), base())
            .await
            .expect_problem(400);
        client.get(&app, "/statements").await.expect_problem(400);
        lrs.statement(&app, &id).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.8: the About resource needs neither credentials nor a version header, and
/// lists the versions the LRS accepts.
async fn the_about_resource_needs_no_credentials_and_lists_the_versions(app: TestApp) {
    let about = Reply::from(app.http.get(app.url("/xapi/about")).send().await.unwrap()).await;
    about.expect(200);
    assert_eq!(about.header("x-experience-api-version"), Some("1.0.3"));
    let versions: Vec<&str> = about.body["version"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for version in ["1.0.3", "1.0.2", "1.0.1", "1.0.0"] {
        assert!(
            versions.contains(&version),
            "{version} missing: {versions:?}"
        );
    }
    assert!(versions.iter().all(|v| v.starts_with("1.0")));
}

// Authentication (Communication 4) -----------------------------------------------------------

/// Communication 4: an organisation client reaches the LRS with HTTP Basic (its id and secret,
/// as LRS clients are configured) or with a bearer token from `/v1/oauth/token`.
async fn a_client_authenticates_with_basic_credentials_or_a_bearer_token(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let by_basic = lrs.store(&app, base()).await;
    let token = Auth::Bearer(&lrs.client.token);
    let by_token = call(&app, Method::POST, "/statements", token, Some(base())).await;
    by_token.expect(200);
    let by_token = by_token.body[0].as_str().unwrap().to_owned();
    for id in [&by_basic[0], &by_token] {
        let path = format!("/statements?statementId={id}");
        call(&app, Method::GET, &path, token, None)
            .await
            .expect(200);
        lrs.get(&app, &path).await.expect(200);
    }
}

/// Communication 4 and 3.2: a request without valid credentials is refused with 401, and the
/// answer challenges for Basic credentials (`WWW-Authenticate: Basic`).
async fn requests_without_valid_credentials_are_refused_with_a_basic_challenge(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let client_id = lrs.client.client_id.as_str();
    let refused = [
        Auth::None,
        Auth::Basic(client_id, "not-the-secret"),
        Auth::Basic("lpc_nobody", &lrs.client.client_secret),
        Auth::Bearer("not.a.token"),
    ];
    for auth in refused {
        for (method, body) in [(Method::GET, None), (Method::POST, Some(base()))] {
            let reply = call(&app, method, "/statements", auth, body).await;
            reply.expect_problem(401);
            // Other challenges (Bearer) may come too; one of them is for Basic.
            let challenges: Vec<&str> = reply
                .headers
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert!(
                challenges.iter().any(|c| c.starts_with("Basic")),
                "challenges: {challenges:?}"
            );
        }
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// The LRS is for organisation clients: a person's token is understood, and refused (403).
async fn a_persons_token_is_forbidden(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let alice = app.person_token("alice");
    let token = Auth::Bearer(&alice);
    call(&app, Method::GET, "/statements", token, None)
        .await
        .expect_problem(403);
    call(&app, Method::POST, "/statements", token, Some(base()))
        .await
        .expect_problem(403);
    assert!(lrs.query(&app, "").await.is_empty());
}

/// A revoked client is refused at once (401), even with the Basic credentials that worked a
/// moment before, and with its token.
async fn a_revoked_client_is_refused_at_once(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let admin = app.org("Passport Administration", "admin").await;
    lrs.store(&app, base()).await;
    app.delete(
        &format!(
            "/v1/organisations/{}/clients/{}",
            lrs.client.organisation_id, lrs.client.client_id
        ),
        &admin.token,
    )
    .await
    .expect(200);
    lrs.get(&app, "/statements").await.expect_problem(401);
    lrs.post(&app, "/statements", base())
        .await
        .expect_problem(401);
    call(
        &app,
        Method::GET,
        "/statements",
        Auth::Bearer(&lrs.client.token),
        None,
    )
    .await
    .expect_problem(401);
}

/// Storing statements feeds passports, so it needs the `records:write` scope (403 without);
/// reading needs no particular scope.
async fn a_client_without_records_write_may_read_but_not_store(app: TestApp) {
    let reader = Lrs::with_scopes(&app, "HR", "shared:read").await;
    let id = Uuid::new_v4().to_string();
    reader
        .post(&app, "/statements", with_id(base(), &id))
        .await
        .expect_problem(403);
    reader
        .put(&app, &format!("/statements?statementId={id}"), base())
        .await
        .expect_problem(403);
    assert!(reader.query(&app, "").await.is_empty());
    reader.statement(&app, &id).await.expect_problem(404);
}

// Isolation between organisations ------------------------------------------------------------

/// Each organisation's statements are its own: another organisation cannot fetch them by id,
/// does not find them by query, and may store a statement under the same id without conflict.
async fn organisations_do_not_see_each_others_statements(app: TestApp) {
    let a = Lrs::new(&app, "Acme Learning").await;
    let b = Lrs::new(&app, "Brightside Training").await;
    let id = Uuid::new_v4().to_string();
    a.store(&app, with_id(base(), &id)).await;

    b.statement(&app, &id).await.expect_problem(404);
    b.get(&app, &format!("/statements?voidedStatementId={id}"))
        .await
        .expect_problem(404);
    assert!(b.query(&app, "").await.is_empty());
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    assert!(b.query(&app, &format!("agent={ann}")).await.is_empty());

    let theirs = with_id(
        statement("bob@example.com", "attempted", "http://example.com/b"),
        &id,
    );
    b.store(&app, theirs).await;
    let in_a = a.statement(&app, &id).await;
    assert_eq!(in_a.body["actor"]["mbox"], "mailto:ann@example.com");
    let in_b = b.statement(&app, &id).await;
    assert_eq!(in_b.body["actor"]["mbox"], "mailto:bob@example.com");
    assert_eq!(ids(&a.query(&app, "").await), vec![id.clone()]);
    assert_eq!(ids(&b.query(&app, "").await), vec![id]);
}

// Storing (Communication 2.1.1, 2.1.2; Data 2.4) ---------------------------------------------

/// Communication 2.1.1: PUT with `statementId` stores the statement (204); the LRS adds
/// `stored`, the `authority` it vouches for (the client, as an Agent account), `version` 1.0.0
/// when absent (Data 2.4.10), and a `timestamp` equal to `stored` when absent (Data 2.4.7).
async fn a_put_statement_is_stored_with_what_the_lrs_supplies(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let put = lrs
        .put(&app, &format!("/statements?statementId={id}"), base())
        .await;
    put.expect(204);
    assert_eq!(put.body, Value::Null);

    let got = lrs.statement(&app, &id).await;
    got.expect(200);
    let s = &got.body;
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["actor"], base()["actor"]);
    assert_eq!(s["verb"], base()["verb"]);
    assert_eq!(s["object"], base()["object"]);
    let stored = s["stored"].as_str().unwrap();
    DateTime::parse_from_rfc3339(stored).unwrap();
    assert_eq!(s["timestamp"], stored);
    assert_eq!(s["version"], "1.0.0");
    assert_eq!(
        s["authority"],
        json!({
            "objectType": "Agent",
            "account": {"homePage": app.settings.issuer(), "name": lrs.client.client_id},
        })
    );

    // What the client gave is kept as given.
    let id = Uuid::new_v4().to_string();
    let timed = set(base(), "/timestamp", json!("2024-05-01T12:00:00.250+01:00"));
    let timed = set(timed, "/version", json!("1.0.3"));
    lrs.put(&app, &format!("/statements?statementId={id}"), timed)
        .await
        .expect(204);
    let got = lrs.statement(&app, &id).await;
    assert_eq!(got.body["timestamp"], "2024-05-01T12:00:00.250+01:00");
    assert_eq!(got.body["version"], "1.0.3");
    assert_ne!(got.body["stored"], got.body["timestamp"]);
}

/// Communication 2.1.1: a PUT whose statement carries an id other than `statementId` is
/// refused (400), as is a PUT without `statementId`.
async fn a_put_needs_a_statement_id_matching_the_statement(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let other = Uuid::new_v4().to_string();
    let reply = lrs
        .put(
            &app,
            &format!("/statements?statementId={id}"),
            with_id(base(), &other),
        )
        .await;
    assert_refused(&reply, "id");
    let reply = lrs.put(&app, "/statements", with_id(base(), &id)).await;
    assert_refused(&reply, "statementId");
    let reply = lrs
        .put(&app, "/statements?statementId=not-a-uuid", base())
        .await;
    assert_refused(&reply, "statementId");
    for unseen in [&id, &other] {
        lrs.statement(&app, unseen).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.1.2: POST takes one statement or an array, and answers the array of their
/// ids in the order sent; the LRS gives an id to each statement sent without one.
async fn a_post_answers_the_ids_in_order_and_assigns_missing_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let single = Uuid::new_v4().to_string();
    assert_eq!(
        lrs.store(&app, with_id(base(), &single)).await,
        vec![single.clone()]
    );

    let first = Uuid::new_v4().to_string();
    let last = Uuid::new_v4().to_string();
    let batch = json!([
        with_id(statement("ann@example.com", "attempted", COURSE), &first),
        statement("bob@example.com", "attempted", COURSE),
        with_id(statement("cat@example.com", "attempted", COURSE), &last),
    ]);
    let answered = lrs.store(&app, batch).await;
    assert_eq!(answered.len(), 3);
    assert_eq!(answered[0], first);
    assert_eq!(answered[2], last);
    Uuid::parse_str(&answered[1]).expect("the LRS assigned a UUID");
    assert!(![&single, &first, &last].contains(&&answered[1]));
    let bob = lrs.statement(&app, &answered[1]).await;
    bob.expect(200);
    assert_eq!(bob.body["id"], answered[1].as_str());
    assert_eq!(bob.body["actor"]["mbox"], "mailto:bob@example.com");
    assert_eq!(lrs.query(&app, "").await.len(), 4);
}

/// Data 2.3.1 and Communication 2.1.1/2.1.2: sending a statement the LRS already holds, by PUT
/// or POST, is accepted and changes nothing (the first `stored` stays).
async fn the_same_statement_stored_again_is_accepted_and_unchanged(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let sent = with_id(base(), &id);
    lrs.put(&app, &format!("/statements?statementId={id}"), sent.clone())
        .await
        .expect(204);
    let first = lrs.statement(&app, &id).await.body;

    lrs.put(&app, &format!("/statements?statementId={id}"), sent.clone())
        .await
        .expect(204);
    assert_eq!(lrs.store(&app, sent.clone()).await, vec![id.clone()]);
    assert_eq!(
        lrs.store(&app, json!([sent.clone()])).await,
        vec![id.clone()]
    );
    // Without its id, under the PUT's statementId, it is still the same statement.
    lrs.put(&app, &format!("/statements?statementId={id}"), base())
        .await
        .expect(204);

    let again = lrs.statement(&app, &id).await.body;
    assert_eq!(again, first);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);
}

/// Data 2.3.1.s9: statements are compared setting aside the exceptions to immutability, so a
/// statement sent again with another verb display (b3), another Activity definition (b2), its
/// timestamp in another time zone (b4), its e-mail domain or id in another case (b7) is the
/// same statement: accepted, and the stored statement unchanged.
async fn a_statement_sent_again_differing_only_where_immutability_allows_is_the_same(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let sent = set(
        with_id(described(), &id),
        "/timestamp",
        json!("2024-05-01T12:00:00Z"),
    );
    lrs.store(&app, sent.clone()).await;
    let original = lrs.statement(&app, &id).await.body;

    let variants = [
        set(sent.clone(), "/verb/display", json!({"en-US": "finished"})),
        set(
            sent.clone(),
            "/object/definition/name",
            json!({"en-GB": "Fire safety (2025 edition)"}),
        ),
        unset(sent.clone(), "/object/definition"),
        set(
            sent.clone(),
            "/timestamp",
            json!("2024-05-01T13:00:00.000+01:00"),
        ),
        set(sent.clone(), "/actor/mbox", json!("mailto:ann@EXAMPLE.com")),
        set(sent.clone(), "/id", json!(id.to_uppercase())),
    ];
    for variant in variants {
        let posted = lrs.post(&app, "/statements", variant.clone()).await;
        assert_eq!(posted.status, 200, "{variant:#}: {:#}", posted.body);
        assert_eq!(posted.body, json!([id]));
        let put = lrs
            .put(
                &app,
                &format!("/statements?statementId={id}"),
                variant.clone(),
            )
            .await;
        assert_eq!(put.status, 204, "{variant:#}: {:#}", put.body);
    }
    assert_eq!(lrs.statement(&app, &id).await.body, original);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);
}

/// Data 2.3.1 (statement immutability) and Communication 2.1.1/2.1.2: a different statement
/// under an id already stored is a conflict (409), and the stored statement is unchanged.
async fn a_statement_with_the_same_id_and_different_content_is_a_conflict(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &id)).await;
    let original = lrs.statement(&app, &id).await.body;

    let changed = with_id(statement("ann@example.com", "failed", COURSE), &id);
    lrs.put(
        &app,
        &format!("/statements?statementId={id}"),
        changed.clone(),
    )
    .await
    .expect_problem(409);
    lrs.post(&app, "/statements", changed)
        .await
        .expect_problem(409);
    let renamed = set(with_id(base(), &id), "/actor/name", json!("Anne"));
    lrs.post(&app, "/statements", renamed)
        .await
        .expect_problem(409);

    assert_eq!(lrs.statement(&app, &id).await.body, original);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);

    // Data 2.3.1.b8: a duration is compared as a string, however long it lasts.
    let id = Uuid::new_v4().to_string();
    let hour = set(with_id(base(), &id), "/result", json!({"duration": "PT1H"}));
    lrs.store(&app, hour).await;
    let minutes = set(
        with_id(base(), &id),
        "/result",
        json!({"duration": "PT60M"}),
    );
    lrs.post(&app, "/statements", minutes)
        .await
        .expect_problem(409);
}

/// Communication 2.1.2: a batch is stored whole or not at all; one malformed statement makes
/// the LRS refuse the batch (400, naming the statement's place), and none of it is stored.
async fn a_batch_with_one_malformed_statement_stores_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let good = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let bad = set(
        with_id(base(), &Uuid::new_v4().to_string()),
        "/actor/mbox",
        json!("bob@example.com"),
    );
    let batch = json!([with_id(base(), &good[0]), bad, with_id(base(), &good[1])]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[1].actor.mbox");
    for id in &good {
        lrs.statement(&app, id).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// A batch naming one id twice is refused (400) and nothing is stored (conformance suite:
/// "An LRS rejects a batch of statements with duplicate statement ids").
async fn a_batch_with_a_duplicated_id_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let other = Uuid::new_v4().to_string();
    let batch = json!([
        with_id(base(), &id),
        with_id(base(), &other),
        with_id(statement("bob@example.com", "attempted", COURSE), &id),
    ]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[2].id");
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.1.2: a batch in which one id is already stored with different content is a
/// conflict (409), and none of the batch is stored.
async fn a_batch_in_which_one_id_conflicts_stores_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let taken = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &taken)).await;
    let fresh = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let batch = json!([
        with_id(base(), &fresh[0]),
        with_id(statement("ann@example.com", "failed", COURSE), &taken),
        with_id(base(), &fresh[1]),
    ]);
    lrs.post(&app, "/statements", batch)
        .await
        .expect_problem(409);
    for id in &fresh {
        lrs.statement(&app, id).await.expect_problem(404);
    }
    assert_eq!(ids(&lrs.query(&app, "").await), vec![taken.clone()]);
    assert_eq!(
        lrs.statement(&app, &taken).await.body["verb"]["id"],
        "http://adlnet.gov/expapi/verbs/completed"
    );
}

// Validation (Data 2.2 - 2.4; each refusal is a 400 naming the property) ----------------------

/// Data 2.2.s4.b1: properties are the specification's only (case-sensitive), never null; and
/// Data 2.2.s2.b3: a statement has an actor, a verb and an object.
async fn statements_with_unknown_null_or_missing_properties_are_refused(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "an unknown property",
                set(base(), "/colour", json!("red")),
                "colour",
            ),
            (
                "a property in the wrong case",
                set(base(), "/Timestamp", json!("2024-05-01T12:00:00Z")),
                "Timestamp",
            ),
            (
                "a null value",
                set(base(), "/timestamp", Value::Null),
                "timestamp",
            ),
            (
                "a null value deeper down",
                set(base(), "/actor/name", Value::Null),
                "actor.name",
            ),
            ("no actor", unset(base(), "/actor"), "actor"),
            ("no verb", unset(base(), "/verb"), "verb"),
            ("no object", unset(base(), "/object"), "object"),
            (
                "an id that is not a UUID",
                set(base(), "/id", json!("42")),
                "id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.2: an Agent has exactly one inverse functional identifier, each in its own form;
/// a Group has an objectType, an anonymous Group has members, and members are Agents only.
async fn agents_and_groups_are_identified_as_the_specification_says(app: TestApp) {
    let ann = json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"});
    refuse_each(
        &app,
        vec![
            (
                "an actor with two identifiers",
                set(base(), "/actor/openid", json!("http://ann.example.com/")),
                "actor",
            ),
            (
                "an actor with no identifier",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Agent", "name": "Ann"}),
                ),
                "actor",
            ),
            (
                "an mbox without mailto:",
                set(base(), "/actor/mbox", json!("ann@example.com")),
                "actor.mbox",
            ),
            (
                "an mbox_sha1sum that is not a SHA-1",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Agent", "mbox_sha1sum": "not-a-hash"}),
                ),
                "actor.mbox_sha1sum",
            ),
            (
                "an account without homePage",
                set(base(), "/actor", json!({"account": {"name": "ann"}})),
                "actor.account.homePage",
            ),
            (
                "a Group without objectType",
                set(base(), "/actor", json!({"name": "Team", "member": [ann]})),
                "actor.member",
            ),
            (
                "an anonymous Group without members",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Group", "name": "Team"}),
                ),
                "actor.member",
            ),
            (
                "a Group as a member",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Group", "member": [
                        {"objectType": "Group", "member": [ann]}
                    ]}),
                ),
                "actor.member[0].objectType",
            ),
        ],
    )
    .await;
}

/// Data 2.4.3: a Verb has an IRI id; Data 4.2: language maps are keyed by RFC 5646 tags.
async fn verbs_need_an_iri_and_language_maps_need_language_tags(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "a verb without id",
                set(base(), "/verb", json!({"display": {"en-US": "completed"}})),
                "verb.id",
            ),
            (
                "a verb id that is not an IRI",
                set(base(), "/verb/id", json!("completed")),
                "verb.id",
            ),
            (
                "a display with a malformed language tag",
                set(base(), "/verb/display", json!({"en_US!": "completed"})),
                "verb.display.en_US!",
            ),
        ],
    )
    .await;
}

/// Data 2.4.4.1: an Activity id is an IRI; an interaction has one of the listed
/// interactionTypes, component lists need one, and component ids are unique.
async fn activities_and_interactions_are_checked(app: TestApp) {
    let definition = |d: Value| set(base(), "/object/definition", d);
    refuse_each(
        &app,
        vec![
            (
                "an activity id that is not an IRI",
                set(base(), "/object/id", json!("fire-safety")),
                "object.id",
            ),
            (
                "an unknown interactionType",
                definition(json!({"interactionType": "essay"})),
                "object.definition.interactionType",
            ),
            (
                "choices without interactionType",
                definition(json!({"choices": [{"id": "a"}, {"id": "b"}]})),
                "object.definition.choices",
            ),
            (
                "duplicate interaction component ids",
                definition(json!({
                    "interactionType": "choice",
                    "choices": [
                        {"id": "a", "description": {"en-GB": "A"}},
                        {"id": "a", "description": {"en-GB": "Also A"}}
                    ]
                })),
                "object.definition.choices[1].id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.4.3: a StatementRef holds a statement's UUID; a SubStatement holds no
/// SubStatement and no id (nor stored, version or authority).
async fn statement_refs_and_substatements_are_checked(app: TestApp) {
    let sub = json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://example.com/verbs/will-attend"},
        "object": {"id": COURSE},
    });
    refuse_each(
        &app,
        vec![
            (
                "a StatementRef whose id is not a UUID",
                set(
                    base(),
                    "/object",
                    json!({"objectType": "StatementRef", "id": "42"}),
                ),
                "object.id",
            ),
            (
                "a SubStatement in a SubStatement",
                set(base(), "/object", set(sub.clone(), "/object", sub.clone())),
                "object.object.objectType",
            ),
            (
                "a SubStatement with an id",
                set(
                    base(),
                    "/object",
                    set(sub, "/id", json!(Uuid::new_v4().to_string())),
                ),
                "object.id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.5: score.scaled lies in [-1, 1], raw between min and max; duration is ISO 8601;
/// Data 4.1: extension keys are IRIs.
async fn results_are_checked(app: TestApp) {
    let result = |r: Value| set(base(), "/result", r);
    refuse_each(
        &app,
        vec![
            (
                "a scaled score above 1",
                result(json!({"score": {"scaled": 1.5}})),
                "result.score.scaled",
            ),
            (
                "a raw score above max",
                result(json!({"score": {"raw": 11, "min": 0, "max": 10}})),
                "result.score.raw",
            ),
            (
                "a raw score below min",
                result(json!({"score": {"raw": -1, "min": 0, "max": 10}})),
                "result.score.raw",
            ),
            (
                "a duration that is not ISO 8601",
                result(json!({"duration": "1 hour"})),
                "result.duration",
            ),
            (
                "an extension key that is not an IRI",
                result(json!({"extensions": {"attempts": 2}})),
                "result.extensions.attempts",
            ),
        ],
    )
    .await;
}

/// Data 2.4.6: revision is for statements about Activities only; registration is a UUID;
/// contextActivities are keyed parent, grouping, category and other only.
async fn contexts_are_checked(app: TestApp) {
    let about_an_agent = set(
        base(),
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"}),
    );
    refuse_each(
        &app,
        vec![
            (
                "revision on a statement about an Agent",
                set(about_an_agent, "/context", json!({"revision": "2"})),
                "context.revision",
            ),
            (
                "a registration that is not a UUID",
                set(base(), "/context", json!({"registration": "course-2024"})),
                "context.registration",
            ),
            (
                "an unknown contextActivities key",
                set(
                    base(),
                    "/context",
                    json!({"contextActivities": {"parents": [{"id": COURSE}]}}),
                ),
                "context.contextActivities.parents",
            ),
        ],
    )
    .await;
}

/// Data 2.4.7 and 4.5: a timestamp has a time zone, and never the offset -00:00; Data 2.4.10:
/// the version is 1.0.x.
async fn timestamps_and_versions_are_checked(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "a timestamp without time zone",
                set(base(), "/timestamp", json!("2024-05-01T12:00:00")),
                "timestamp",
            ),
            (
                "a timestamp with the offset -00:00",
                set(base(), "/timestamp", json!("2024-05-01T12:00:00-00:00")),
                "timestamp",
            ),
            (
                "version 2.0.0",
                set(base(), "/version", json!("2.0.0")),
                "version",
            ),
        ],
    )
    .await;
}

/// Data 2.4.11: an attachment declares usageType, display, contentType, length and sha2.
async fn attachment_declarations_are_checked(app: TestApp) {
    let declaration = json!({
        "usageType": "http://example.com/attachments/certificate",
        "display": {"en-GB": "Certificate"},
        "contentType": "text/plain",
        "length": 5,
        "fileUrl": "http://example.com/certificate.txt",
    });
    refuse_each(
        &app,
        vec![(
            "an attachment without sha2",
            set(base(), "/attachments", json!([declaration])),
            "attachments[0].sha2",
        )],
    )
    .await;
}

/// Communication 2.1.2: a POST body is a statement or an array of statements; any other JSON
/// is refused (400).
async fn a_post_body_must_be_a_statement_or_an_array_of_them(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for body in [json!("a statement"), json!(42), json!(null)] {
        let reply = lrs.post(&app, "/statements", body).await;
        assert_refused(&reply, "statements");
    }
    let reply = lrs
        .post(&app, "/statements", json!([base(), "a statement"]))
        .await;
    assert_refused(&reply, "[1]");
    assert!(lrs.query(&app, "").await.is_empty());
}

// Voiding (Data 2.3.2; Communication 2.1.4) --------------------------------------------------

/// Communication 2.1.4: a voided statement is no longer found by `statementId` (404), only by
/// `voidedStatementId`; the voiding statement is found as any other.
async fn a_voided_statement_is_found_only_by_voided_statement_id(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &target)).await;
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);

    lrs.statement(&app, &target).await.expect_problem(404);
    let voided = lrs
        .get(&app, &format!("/statements?voidedStatementId={target}"))
        .await;
    voided.expect(200);
    assert_eq!(voided.body["id"], target.as_str());
    assert_eq!(voided.body["actor"], base()["actor"]);
    let found = lrs.statement(&app, &voiding).await;
    found.expect(200);
    assert_eq!(found.body["verb"]["id"], VOIDED);
    assert_eq!(found.body["object"]["id"], target.as_str());
}

/// Communication 2.1.4: `voidedStatementId` finds voided statements only (404 otherwise).
async fn a_statement_that_is_not_voided_is_not_found_by_voided_statement_id(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    lrs.get(&app, &format!("/statements?voidedStatementId={id}"))
        .await
        .expect_problem(404);
    let unknown = Uuid::new_v4();
    lrs.get(&app, &format!("/statements?voidedStatementId={unknown}"))
        .await
        .expect_problem(404);
}

/// Communication 2.1.4: queries never answer voided statements, whatever they filter on, but
/// do answer the voiding statements.
async fn voided_statements_never_appear_in_queries_but_voiding_statements_do(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let kept = lrs.store(&app, base()).await.remove(0);
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);

    assert_eq!(
        ids(&lrs.query(&app, "").await),
        vec![voiding.clone(), kept.clone()]
    );
    // The voiding statement targets a completion, so it is found by what finds that
    // (Communication 2.1.3, "Filter Conditions for StatementRefs"); the target is not.
    let completed = encode("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={completed}")).await),
        vec![voiding.clone(), kept.clone()]
    );
    let course = encode(COURSE);
    let by_activity = ids(&lrs.query(&app, &format!("activity={course}")).await);
    assert!(!by_activity.contains(&target), "{by_activity:?}");
    assert!(by_activity.contains(&kept));
    let voided = encode(VOIDED);
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={voided}")).await),
        vec![voiding]
    );
}

/// Data 2.3.2: a voiding statement cannot itself be voided (400), and stays in force.
async fn a_voiding_statement_cannot_be_voided(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding_id = lrs.store(&app, voiding(&target)).await.remove(0);
    let reply = lrs.post(&app, "/statements", voiding(&voiding_id)).await;
    assert_refused(&reply, "object.id");
    lrs.statement(&app, &voiding_id).await.expect(200);
    lrs.statement(&app, &target).await.expect_problem(404);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![voiding_id]);
}

/// Data 2.3.2 and the conformance suite: a statement voiding a statement the LRS does not hold
/// is accepted.
async fn voiding_an_unknown_statement_is_accepted(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let unknown = Uuid::new_v4().to_string();
    let voiding = lrs.store(&app, voiding(&unknown)).await.remove(0);
    lrs.statement(&app, &voiding).await.expect(200);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![voiding]);
}

// GET parameters (Communication 2.1.3) -------------------------------------------------------

/// Communication 2.1.3: `statementId` and `voidedStatementId` combine with `format` and
/// `attachments` only; with any other parameter the request is refused (400).
async fn statement_id_cannot_be_combined_with_other_filters(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    for other in [
        format!("agent={ann}"),
        "limit=1".into(),
        "ascending=true".into(),
        "since=2020-01-01T00:00:00Z".into(),
    ] {
        for name in ["statementId", "voidedStatementId"] {
            let reply = lrs
                .get(&app, &format!("/statements?{name}={id}&{other}"))
                .await;
            reply.expect_problem(400);
        }
    }
    lrs.get(
        &app,
        &format!("/statements?statementId={id}&format=ids&attachments=false"),
    )
    .await
    .expect(200);
}

/// Communication 2.1.3 (conformance suite): a parameter the resource does not define is
/// refused (400), naming it.
async fn an_unknown_parameter_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    lrs.store(&app, base()).await;
    let reply = lrs.get(&app, "/statements?colour=red").await;
    assert_refused(&reply, "colour");
    let reply = lrs.get(&app, "/statements?Verb=x").await;
    assert_refused(&reply, "Verb");
}

/// Communication 2.1.3: `agent` (JSON) finds statements whose actor or object is that Agent.
async fn the_agent_filter_matches_the_actor_or_the_object(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let by_ann = lrs.store(&app, base()).await.remove(0);
    let by_bob = lrs
        .store(&app, statement("bob@example.com", "attempted", COURSE))
        .await
        .remove(0);
    let bob = json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"});
    let about_bob = lrs.store(&app, set(base(), "/object", bob)).await.remove(0);

    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={ann}")).await),
        vec![about_bob.clone(), by_ann]
    );
    let bob = encode(r#"{"objectType":"Agent","mbox":"mailto:bob@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={bob}")).await),
        vec![about_bob, by_bob]
    );
    let nobody = encode(r#"{"mbox":"mailto:nobody@example.com"}"#);
    assert!(lrs.query(&app, &format!("agent={nobody}")).await.is_empty());
    let reply = lrs.get(&app, "/statements?agent=ann%40example.com").await;
    assert_refused(&reply, "agent");
}

/// Communication 2.1.3: `verb` matches the verb id, `activity` the Activity that is the object,
/// `registration` the context's registration.
async fn the_verb_activity_and_registration_filters_match_exactly(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let registration = Uuid::new_v4().to_string();
    let completed = lrs.store(&app, base()).await.remove(0);
    let attempted = lrs
        .store(
            &app,
            set(
                statement(
                    "ann@example.com",
                    "attempted",
                    "http://example.com/courses/manual-handling",
                ),
                "/context",
                json!({"registration": registration}),
            ),
        )
        .await
        .remove(0);

    let verb = encode("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={verb}")).await),
        vec![completed.clone()]
    );
    let activity = encode("http://example.com/courses/manual-handling");
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={activity}")).await),
        vec![attempted.clone()]
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("registration={registration}"))
            .await),
        vec![attempted.clone()]
    );
    let other = Uuid::new_v4();
    assert!(
        lrs.query(&app, &format!("registration={other}"))
            .await
            .is_empty()
    );
    // Filters combine: every one must match.
    assert!(
        lrs.query(&app, &format!("verb={verb}&activity={activity}"))
            .await
            .is_empty()
    );
}

/// Communication 2.1.3: `since` answers statements stored after it (exclusive), `until`
/// those stored at or before it (inclusive).
async fn since_is_exclusive_and_until_inclusive_by_stored_time(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..3 {
        let id = lrs.store(&app, base()).await.remove(0);
        let at = lrs.statement(&app, &id).await.body["stored"]
            .as_str()
            .unwrap()
            .to_owned();
        stored.push((id, at));
    }
    let [(first, t1), (second, t2), (third, _)] = &stored[..] else {
        unreachable!()
    };
    let since = |t: &str| format!("since={}", encode(t));
    let until = |t: &str| format!("until={}", encode(t));
    assert_eq!(ids(&lrs.query(&app, &since(t2)).await), vec![third.clone()]);
    assert_eq!(
        ids(&lrs.query(&app, &until(t2)).await),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("{}&{}", since(t1), until(t2)))
            .await),
        vec![second.clone()]
    );
    // The same instant in another offset is the same instant.
    let t2_elsewhere = DateTime::parse_from_rfc3339(t2)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    assert_eq!(
        ids(&lrs.query(&app, &since(&t2_elsewhere)).await),
        vec![third.clone()]
    );
    let reply = lrs.get(&app, "/statements?since=yesterday").await;
    assert_refused(&reply, "since");
}

/// Communication 2.1.3: `activity` matches context activities only with
/// `related_activities=true` (and Activities in a SubStatement likewise).
async fn related_activities_widen_the_activity_filter(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let programme = "http://example.com/programmes/induction";
    let module = lrs
        .store(
            &app,
            set(
                base(),
                "/context",
                json!({"contextActivities": {"parent": [{"id": programme}]}}),
            ),
        )
        .await
        .remove(0);
    let planned = lrs
        .store(
            &app,
            set(
                base(),
                "/object",
                json!({
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:ann@example.com"},
                    "verb": {"id": "http://example.com/verbs/will-attend"},
                    "object": {"id": programme},
                }),
            ),
        )
        .await
        .remove(0);

    let activity = encode(programme);
    assert!(
        lrs.query(&app, &format!("activity={activity}"))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&lrs
            .query(
                &app,
                &format!("activity={activity}&related_activities=true")
            )
            .await),
        vec![planned, module.clone()]
    );
    let course = encode(COURSE);
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={course}")).await),
        vec![module]
    );
}

/// Communication 2.1.3: `agent` matches the instructor and the authority only with
/// `related_agents=true`.
async fn related_agents_widen_the_agent_filter(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let taught = lrs
        .store(
            &app,
            set(
                base(),
                "/context",
                json!({"instructor": {"mbox": "mailto:carol@example.com"}}),
            ),
        )
        .await
        .remove(0);

    let carol = encode(r#"{"mbox":"mailto:carol@example.com"}"#);
    assert!(lrs.query(&app, &format!("agent={carol}")).await.is_empty());
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("agent={carol}&related_agents=true"))
            .await),
        vec![taught.clone()]
    );
    let authority = lrs.statement(&app, &taught).await.body["authority"].to_string();
    let authority = encode(&authority);
    assert!(
        lrs.query(&app, &format!("agent={authority}"))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("agent={authority}&related_agents=true"))
            .await),
        vec![taught]
    );
}

/// Communication 2.1.3: a statement that targets another by StatementRef is answered by the
/// filters that match its target; so a voided statement's voiding statement is found by the
/// voided statement's agent.
async fn a_statement_ref_is_found_by_what_finds_its_target(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let dan = encode(r#"{"mbox":"mailto:dan@example.com"}"#);
    let target = lrs
        .store(&app, statement("dan@example.com", "completed", COURSE))
        .await
        .remove(0);
    let liked = lrs
        .store(
            &app,
            json!({
                "actor": {"mbox": "mailto:erin@example.com"},
                "verb": {"id": "http://example.com/verbs/liked"},
                "object": {"objectType": "StatementRef", "id": target},
            }),
        )
        .await
        .remove(0);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={dan}")).await),
        vec![liked.clone(), target.clone()]
    );
    let course = encode(COURSE);
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={course}")).await),
        vec![liked.clone(), target.clone()]
    );

    // The rule applies again to a statement that targets the targeting statement.
    let endorsed = lrs
        .store(
            &app,
            json!({
                "actor": {"mbox": "mailto:gus@example.com"},
                "verb": {"id": "http://example.com/verbs/endorsed"},
                "object": {"objectType": "StatementRef", "id": liked},
            }),
        )
        .await
        .remove(0);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={dan}")).await),
        vec![endorsed, liked.clone(), target.clone()]
    );

    let voided_target = lrs
        .store(&app, statement("fay@example.com", "completed", COURSE))
        .await
        .remove(0);
    let voiding = lrs.store(&app, voiding(&voided_target)).await.remove(0);
    let fay = encode(r#"{"mbox":"mailto:fay@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={fay}")).await),
        vec![voiding]
    );
}

/// Communication 2.1.3: statements come newest first by stored time, oldest first with
/// `ascending=true`.
async fn ascending_reverses_the_order(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..3 {
        stored.extend(lrs.store(&app, base()).await);
    }
    assert_eq!(ids(&lrs.query(&app, "ascending=true").await), stored);
    stored.reverse();
    assert_eq!(ids(&lrs.query(&app, "ascending=false").await), stored);
    assert_eq!(ids(&lrs.query(&app, "").await), stored);
}

/// Communication 2.1.3 and Data 2.5: `limit` caps a page; a page that does not hold every
/// match ends with a `more` IRL (relative to the LRS) that continues the query, and the last
/// page's `more` is "". Following it sees every statement exactly once, in order, both ways.
async fn paging_with_limit_and_more_sees_every_statement_once(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..7 {
        stored.extend(lrs.store(&app, base()).await);
    }
    let (seen, pages) = follow(&app, &lrs, "/statements?limit=3&ascending=true").await;
    assert_eq!(seen, stored);
    assert_eq!(pages, 3);
    stored.reverse();
    let (seen, pages) = follow(&app, &lrs, "/statements?limit=3").await;
    assert_eq!(seen, stored);
    assert_eq!(pages, 3);
    // Filters carry over to the next pages.
    let other = lrs
        .store(&app, statement("bob@example.com", "attempted", COURSE))
        .await
        .remove(0);
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    let (seen, _) = follow(&app, &lrs, &format!("/statements?limit=2&agent={ann}")).await;
    assert_eq!(seen, stored);
    assert!(!seen.contains(&other));
}

/// Communication 2.1.3: every answer to a statements GET carries
/// `X-Experience-API-Consistent-Through`, an ISO 8601 timestamp.
async fn every_statements_get_carries_consistent_through(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);
    for path in [
        "/statements".to_owned(),
        "/statements?limit=1".to_owned(),
        format!("/statements?statementId={voiding}"),
        format!("/statements?voidedStatementId={target}"),
        format!("/statements?statementId={voiding}&attachments=true"),
    ] {
        let reply = lrs.get(&app, &path).await;
        reply.expect(200);
        let through = reply
            .header("x-experience-api-consistent-through")
            .unwrap_or_else(|| panic!("no X-Experience-API-Consistent-Through on {path}"));
        DateTime::parse_from_rfc3339(through).unwrap();
    }
}

/// Communication 2.1.3: a single statement's answer carries `Last-Modified`, its stored time.
async fn a_single_statement_carries_last_modified(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    let reply = lrs.statement(&app, &id).await;
    let last_modified = reply.header("last-modified").expect("Last-Modified");
    let last_modified = DateTime::parse_from_rfc2822(last_modified).unwrap();
    let stored = DateTime::parse_from_rfc3339(reply.body["stored"].as_str().unwrap()).unwrap();
    assert_eq!(last_modified.timestamp(), stored.timestamp());
}

/// Communication 1.1: HEAD is answered wherever GET is, with the same headers and no body.
async fn head_answers_the_headers_without_a_body(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    for path in [
        "/statements".to_owned(),
        format!("/statements?statementId={id}"),
    ] {
        let reply = lrs.send(&app, Method::HEAD, &path, &[], None).await;
        reply.expect(200);
        assert_eq!(reply.body, Value::Null);
        assert_eq!(reply.header("x-experience-api-version"), Some("1.0.3"));
        assert!(
            reply
                .header("x-experience-api-consistent-through")
                .is_some()
        );
    }
}

// Formats (Communication 2.1.3) ------------------------------------------------------------

/// Communication 2.1.3: `format=ids` answers Agents as objectType and identifier, Activities
/// as objectType and id, and Verbs as their id.
async fn format_ids_keeps_only_identifiers(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, described()).await.remove(0);
    let single = lrs
        .get(&app, &format!("/statements?statementId={id}&format=ids"))
        .await;
    single.expect(200);
    let listed = lrs.query(&app, "format=ids").await;
    for s in [&single.body, &listed[0]] {
        assert_eq!(
            s["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
        );
        assert_eq!(
            s["verb"],
            json!({"id": "http://adlnet.gov/expapi/verbs/completed"})
        );
        assert_eq!(s["object"], json!({"objectType": "Activity", "id": COURSE}));
        assert_eq!(s["id"], id.as_str());
    }
}

/// Communication 2.1.3: `format=canonical` reduces each language map to the caller's language
/// (`Accept-Language`).
async fn format_canonical_answers_the_callers_language(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, described()).await.remove(0);
    let reply = lrs
        .send(
            &app,
            Method::GET,
            &format!("/statements?statementId={id}&format=canonical"),
            &[("Accept-Language", "en-GB")],
            None,
        )
        .await;
    reply.expect(200);
    let s = &reply.body;
    assert_eq!(
        s["object"]["definition"]["name"],
        json!({"en-GB": "Fire safety"})
    );
    assert_eq!(
        s["object"]["definition"]["description"],
        json!({"en-GB": "Fire safety for ward staff"})
    );
    assert_eq!(s["verb"]["display"], json!({"en-GB": "completed"}));
    assert_eq!(s["actor"]["name"], "Ann");

    let reply = lrs
        .send(
            &app,
            Method::GET,
            "/statements?format=canonical",
            &[("Accept-Language", "fr, en;q=0.5")],
            None,
        )
        .await;
    reply.expect(200);
    let listed = statements(&reply);
    assert_eq!(
        listed[0]["object"]["definition"]["name"],
        json!({"fr": "Sécurité incendie"})
    );
}

/// Communication 2.1.3: `format=exact` (the default) answers the statement as stored: all it
/// was sent with, and what the LRS added; any other format is refused (400).
async fn format_exact_answers_the_statement_as_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let sent = described();
    let id = lrs.store(&app, sent.clone()).await.remove(0);
    let exact = lrs
        .get(&app, &format!("/statements?statementId={id}&format=exact"))
        .await;
    exact.expect(200);
    let default = lrs.statement(&app, &id).await;
    assert_eq!(exact.body, default.body);
    for (key, value) in sent.as_object().unwrap() {
        assert_eq!(&exact.body[key], value, "{key}");
    }
    assert_eq!(lrs.query(&app, "format=exact").await[0], exact.body);

    let reply = lrs.get(&app, "/statements?format=full").await;
    assert_refused(&reply, "format");
    let reply = lrs
        .get(&app, &format!("/statements?statementId={id}&format=IDS"))
        .await;
    assert_refused(&reply, "format");
}

// Attachments (Communication 1.5.2; Data 2.4.11) and signatures (Data 2.6) --------------------

/// Communication 1.5.2: a statement's attachment travels as a part of a multipart/mixed
/// request, bound by its SHA-2; `attachments=true` answers multipart/mixed with the statement
/// first and the attachment's data after.
async fn an_attachment_is_stored_and_answered_with_its_statement(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate of completion: Ann, fire safety, 2024.";
    let hash = sha256(content);
    let s = set(base(), "/attachments", json!([attachment(content, None)]));
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&s, &[Part::new("text/plain", content)])),
        )
        .await;
    reply.expect(200);
    let id = reply.body[0].as_str().unwrap().to_owned();

    for path in [
        format!("/statements?statementId={id}&attachments=true"),
        "/statements?attachments=true".to_owned(),
    ] {
        let reply = lrs.get(&app, &path).await;
        reply.expect(200);
        let parts = parts(&reply);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(
            parts[0]
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let json: Value = serde_json::from_str(&parts[0].body).unwrap();
        let statement = if json.get("statements").is_some() {
            json["statements"][0].clone()
        } else {
            json
        };
        assert_eq!(statement["id"], id.as_str());
        assert_eq!(statement["attachments"][0]["sha2"], hash.as_str());
        assert_eq!(parts[1].body.as_bytes(), content);
        assert_eq!(
            parts[1].header("x-experience-api-hash"),
            Some(hash.as_str())
        );
        assert_eq!(parts[1].header("content-transfer-encoding"), Some("binary"));
        assert!(
            parts[1]
                .header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
    }
    // Without attachments=true, plain JSON.
    let plain = lrs.statement(&app, &id).await;
    assert!(
        plain
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(plain.body["attachments"][0]["sha2"], hash.as_str());
}

/// Communication 1.5.2: an attachment without fileUrl must come as a part, so plain JSON
/// declaring one is refused (400); with a fileUrl, plain JSON will do.
async fn an_attachment_without_file_url_needs_its_data(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate";
    let id = Uuid::new_v4().to_string();
    let missing = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(content, None)]),
    );
    let reply = lrs.post(&app, "/statements", missing).await;
    assert_refused(&reply, "attachments");
    lrs.statement(&app, &id).await.expect_problem(404);
    let batch = json!([
        base(),
        set(base(), "/attachments", json!([attachment(content, None)])),
    ]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[1].attachments");
    assert!(lrs.query(&app, "").await.is_empty());

    let linked = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(
            content,
            Some("http://example.com/certificate.txt")
        )]),
    );
    lrs.post(&app, "/statements", linked).await.expect(200);
    let got = lrs.statement(&app, &id).await;
    assert_eq!(
        got.body["attachments"][0]["fileUrl"],
        "http://example.com/certificate.txt"
    );
}

/// Communication 1.5.2: a part whose data does not match its `X-Experience-API-Hash` is refused
/// (400), and nothing is stored.
async fn a_part_whose_hash_does_not_match_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let content = b"Certificate";
    let id = Uuid::new_v4().to_string();
    let s = set(
        with_id(base(), &id),
        "/attachments",
        json!([attachment(content, None)]),
    );
    let tampered = Part {
        bytes: b"Forged certificate".to_vec(),
        ..Part::new("text/plain", content)
    };
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&s, &[tampered])),
        )
        .await;
    assert_refused(&reply, "X-Experience-API-Hash");
    lrs.statement(&app, &id).await.expect_problem(404);
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Data 2.6: a signed statement (an RS256 JWS of the statement, with its certificate in x5c,
/// attached as a signature) is accepted, and answered with its signature.
async fn a_signed_statement_is_accepted(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let s = with_id(base(), &Uuid::new_v4().to_string());
    let jws = signature(&s);
    let signed = set(
        s.clone(),
        "/attachments",
        json!([signature_attachment(&jws)]),
    );
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(
                &signed,
                &[Part::new("application/octet-stream", jws.as_bytes())],
            )),
        )
        .await;
    reply.expect(200);
    let id = s["id"].as_str().unwrap();
    let reply = lrs
        .get(
            &app,
            &format!("/statements?statementId={id}&attachments=true"),
        )
        .await;
    let parts = parts(&reply);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].body, jws);
}

/// Data 2.6: a signature whose JWS payload is another statement is refused (400), and nothing
/// is stored.
async fn a_signature_of_a_different_statement_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let s = with_id(base(), &Uuid::new_v4().to_string());
    let other = set(
        s.clone(),
        "/verb/id",
        json!("http://adlnet.gov/expapi/verbs/failed"),
    );
    let jws = signature(&other);
    let signed = set(
        s.clone(),
        "/attachments",
        json!([signature_attachment(&jws)]),
    );
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(
                &signed,
                &[Part::new("application/octet-stream", jws.as_bytes())],
            )),
        )
        .await;
    assert_refused(&reply, "attachments[0]");
    lrs.statement(&app, s["id"].as_str().unwrap())
        .await
        .expect_problem(404);
    assert!(lrs.query(&app, "").await.is_empty());
}

on_both_backends!(
    every_1_0_x_version_is_accepted_and_answered_as_1_0_3,
    a_missing_or_unknown_version_is_refused_and_nothing_is_stored,
    the_about_resource_needs_no_credentials_and_lists_the_versions,
    a_client_authenticates_with_basic_credentials_or_a_bearer_token,
    requests_without_valid_credentials_are_refused_with_a_basic_challenge,
    a_persons_token_is_forbidden,
    a_revoked_client_is_refused_at_once,
    a_client_without_records_write_may_read_but_not_store,
    organisations_do_not_see_each_others_statements,
    a_put_statement_is_stored_with_what_the_lrs_supplies,
    a_put_needs_a_statement_id_matching_the_statement,
    a_post_answers_the_ids_in_order_and_assigns_missing_ones,
    the_same_statement_stored_again_is_accepted_and_unchanged,
    a_statement_sent_again_differing_only_where_immutability_allows_is_the_same,
    a_statement_with_the_same_id_and_different_content_is_a_conflict,
    a_batch_with_one_malformed_statement_stores_nothing,
    a_batch_with_a_duplicated_id_is_refused,
    a_batch_in_which_one_id_conflicts_stores_nothing,
    statements_with_unknown_null_or_missing_properties_are_refused,
    agents_and_groups_are_identified_as_the_specification_says,
    verbs_need_an_iri_and_language_maps_need_language_tags,
    activities_and_interactions_are_checked,
    statement_refs_and_substatements_are_checked,
    results_are_checked,
    contexts_are_checked,
    timestamps_and_versions_are_checked,
    attachment_declarations_are_checked,
    a_post_body_must_be_a_statement_or_an_array_of_them,
    a_voided_statement_is_found_only_by_voided_statement_id,
    a_statement_that_is_not_voided_is_not_found_by_voided_statement_id,
    voided_statements_never_appear_in_queries_but_voiding_statements_do,
    a_voiding_statement_cannot_be_voided,
    voiding_an_unknown_statement_is_accepted,
    statement_id_cannot_be_combined_with_other_filters,
    an_unknown_parameter_is_refused,
    the_agent_filter_matches_the_actor_or_the_object,
    the_verb_activity_and_registration_filters_match_exactly,
    since_is_exclusive_and_until_inclusive_by_stored_time,
    related_activities_widen_the_activity_filter,
    related_agents_widen_the_agent_filter,
    a_statement_ref_is_found_by_what_finds_its_target,
    ascending_reverses_the_order,
    paging_with_limit_and_more_sees_every_statement_once,
    every_statements_get_carries_consistent_through,
    a_single_statement_carries_last_modified,
    head_answers_the_headers_without_a_body,
    format_ids_keeps_only_identifiers,
    format_canonical_answers_the_callers_language,
    format_exact_answers_the_statement_as_stored,
    an_attachment_is_stored_and_answered_with_its_statement,
    an_attachment_without_file_url_needs_its_data,
    a_part_whose_hash_does_not_match_is_refused,
    a_signed_statement_is_accepted,
    a_signature_of_a_different_statement_is_refused,
);

// Helpers ------------------------------------------------------------------------------------

/// A small valid statement: Ann completed the fire safety course.
fn base() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": COURSE},
    })
}

/// A statement with a described Activity and language maps in two languages.
fn described() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-GB": "completed", "fr": "a terminé"},
        },
        "object": {
            "objectType": "Activity",
            "id": COURSE,
            "definition": {
                "name": {"en-GB": "Fire safety", "fr": "Sécurité incendie"},
                "description": {"en-GB": "Fire safety for ward staff", "fr": "Sécurité incendie en service"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
    })
}

/// A statement by the LRS's administrator voiding statement `target`.
fn voiding(target: &str) -> Value {
    json!({
        "actor": {"objectType": "Agent", "mbox": "mailto:admin@example.com"},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    })
}

/// The declaration of a text attachment with `content`.
fn attachment(content: &[u8], file_url: Option<&str>) -> Value {
    let mut declaration = json!({
        "usageType": "http://example.com/attachments/certificate",
        "display": {"en-GB": "Certificate"},
        "contentType": "text/plain",
        "length": content.len(),
        "sha2": sha256(content),
    });
    if let Some(url) = file_url {
        declaration["fileUrl"] = json!(url);
    }
    declaration
}

fn with_id(statement: Value, id: &str) -> Value {
    set(statement, "/id", json!(id))
}

/// `value` with the property at JSON pointer `pointer` set (its parent must exist).
fn set(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"))
        .insert(key.to_owned(), new);
    value
}

/// `value` without the property at JSON pointer `pointer`.
fn unset(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"))
        .remove(key);
    value
}

/// Asserts a 400 whose first error names `field`.
#[track_caller]
fn assert_refused(reply: &Reply, field: &str) {
    reply.expect_problem(400);
    assert_eq!(
        reply.body["errors"][0]["field"], field,
        "expected the refusal to name `{field}`: {:#}",
        reply.body
    );
}

/// Sends each malformed statement (by POST and by PUT), asserting that it is refused naming
/// `field`, and that nothing was stored.
async fn refuse_each(app: &TestApp, cases: Vec<(&str, Value, &str)>) {
    let lrs = Lrs::new(app, "Acme Learning").await;
    for (case, statement, field) in cases {
        let id = Uuid::new_v4().to_string();
        let statement = match statement.get("id") {
            Some(_) => statement,
            None => with_id(statement, &id),
        };
        let posted = lrs.post(app, "/statements", statement.clone()).await;
        assert_eq!(posted.status, 400, "{case}: {:#}", posted.body);
        assert_eq!(
            posted.body["errors"][0]["field"], field,
            "{case}: {:#}",
            posted.body
        );
        let put = lrs
            .put(app, &format!("/statements?statementId={id}"), statement)
            .await;
        assert_eq!(put.status, 400, "{case} (PUT): {:#}", put.body);
        assert_eq!(
            put.body["errors"][0]["field"], field,
            "{case} (PUT): {:#}",
            put.body
        );
        assert_eq!(lrs.statement(app, &id).await.status, 404, "{case}");
    }
    assert!(lrs.query(app, "").await.is_empty());
}

/// Follows a query's `more` links from `path` to the end; answers the ids seen and the number
/// of pages.
async fn follow(app: &TestApp, lrs: &Lrs, path: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next = path.to_owned();
    loop {
        let reply = lrs.get(app, &next).await;
        reply.expect(200);
        pages += 1;
        let page = statements(&reply);
        assert!(!page.is_empty(), "an empty page at {next}");
        seen.extend(ids(&page));
        let more = reply.body["more"].as_str().expect("`more` is a string");
        if more.is_empty() {
            break;
        }
        assert!(more.starts_with("/xapi/statements"), "more: {more}");
        next = more.strip_prefix("/xapi").unwrap().to_owned();
        assert!(pages < 20, "the pages do not end");
    }
    (seen, pages)
}

/// Credentials for a request made without the LRS client's Basic credentials.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

/// A request to `/xapi{path}` with the version header and the given credentials.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .http
        .request(method, app.url(&format!("/xapi{path}")))
        .header("X-Experience-API-Version", VERSION);
    request = match auth {
        Auth::None => request,
        Auth::Basic(id, secret) => request.basic_auth(id, Some(secret)),
        Auth::Bearer(token) => request.bearer_auth(token),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::from(request.send().await.unwrap()).await
}
