//! The organisation's view: exactly what a live grant covers, decided on every request, and
//! every attempt written to the owner's access log.

mod support;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use learning_passport::db::ids::{GrantId, RecordId};
use learning_passport::db::schema::{grants, records};
use learning_passport::db::types::Timestamp;
use serde_json::{Value, json};
use support::{OrgClient, TestApp};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// Alice with three records: statutory training, a course and a hidden CPD entry.
struct Passport {
    token: String,
    id: String,
    statutory: String,
    course: String,
    hidden: String,
}

async fn passport(app: &TestApp) -> Passport {
    let token = app.person_token("alice");
    let id = app.get("/v1/me", &token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = |body: Value| app.post("/v1/me/records", &token, body);
    let statutory = add(json!({"kind": "statutory_mandatory", "title": "Fire safety", "activity_code": "CSTF-FIRE"})).await.body["id"].as_str().unwrap().to_owned();
    let course = add(json!({"kind": "course", "title": "Tropical medicine"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hidden = add(json!({"kind": "cpd", "title": "Private reflection"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/me/records/{hidden}"),
        &token,
        json!({"hidden": true}),
    )
    .await
    .expect(200);
    Passport {
        token,
        id,
        statutory,
        course,
        hidden,
    }
}

async fn grant(
    app: &TestApp,
    person: &Passport,
    org: &OrgClient,
    permission: &str,
    records: Value,
) -> String {
    let reply = app
        .post(
            "/v1/me/grants",
            &person.token,
            json!({"organisation_id": org.organisation_id, "permission": permission, "scope": {"records": records, "attainments": true}, "purpose": "checks", "expires_at": in_days(30)}),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn titles(reply: &support::Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn events(app: &TestApp, person: &Passport) -> Vec<Value> {
    app.get("/v1/me/access-events?limit=200", &person.token)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The organisation endpoints that touch a person's data.
fn endpoints(person: &Passport) -> Vec<String> {
    vec![
        format!("/v1/people/{}/records", person.id),
        format!("/v1/people/{}/records/{}", person.id, person.statutory),
        format!("/v1/people/{}/attainments", person.id),
    ]
}

async fn a_live_read_grant_shows_exactly_its_scope(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"kinds": ["statutory_mandatory"]}),
    )
    .await;

    let shared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    shared.expect(200);
    assert_eq!(titles(&shared), vec!["Fire safety"]);
    app.get(
        &format!("/v1/people/{}/records/{}", alice.id, alice.statutory),
        &employer.token,
    )
    .await
    .expect(200);
    app.get(
        &format!("/v1/people/{}/records/{}", alice.id, alice.course),
        &employer.token,
    )
    .await
    .expect_problem(404);
    let attainments = app
        .get(
            &format!("/v1/people/{}/attainments", alice.id),
            &employer.token,
        )
        .await;
    attainments.expect(200);
    assert_eq!(attainments.body["items"], json!([]));

    // The employer's list of grants names the person.
    let received = app.get("/v1/grants", &employer.token).await;
    received.expect(200);
    assert_eq!(received.body["items"][0]["person_id"], alice.id.as_str());
    assert_eq!(
        received.body["items"][0]["person_display_name"],
        "Person alice"
    );
    snapshot!("received_grants", received.body);
}

async fn scopes_by_activity_and_by_id_combine_and_hidden_records_never_show(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"activity_codes": ["CSTF-FIRE"], "record_ids": [alice.course, alice.hidden]}),
    )
    .await;
    let shared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    assert_eq!(titles(&shared), vec!["Tropical medicine", "Fire safety"]);
    app.get(
        &format!("/v1/people/{}/records/{}", alice.id, alice.hidden),
        &employer.token,
    )
    .await
    .expect_problem(404);

    // "all" covers every record but the hidden one.
    let other = app.org("Other employer", "shared:read").await;
    grant(&app, &alice, &other, "read", json!("all")).await;
    let all = app
        .get(&format!("/v1/people/{}/records", alice.id), &other.token)
        .await;
    assert_eq!(titles(&all), vec!["Tropical medicine", "Fire safety"]);
    // Filters and pagination work as on the owner's list.
    let filtered = app
        .get(
            &format!("/v1/people/{}/records?kind=course", alice.id),
            &other.token,
        )
        .await;
    assert_eq!(titles(&filtered), vec!["Tropical medicine"]);
    let page = app
        .get(
            &format!("/v1/people/{}/records?limit=1", alice.id),
            &other.token,
        )
        .await;
    assert_eq!(titles(&page), vec!["Tropical medicine"]);
    let next = app
        .get(
            &format!(
                "/v1/people/{}/records?limit=1&cursor={}",
                alice.id,
                page.body["next_cursor"].as_str().unwrap()
            ),
            &other.token,
        )
        .await;
    assert_eq!(titles(&next), vec!["Fire safety"]);

    // Unhiding shows it at once.
    app.patch(
        &format!("/v1/me/records/{}", alice.hidden),
        &alice.token,
        json!({"hidden": false}),
    )
    .await
    .expect(200);
    let now = app
        .get(&format!("/v1/people/{}/records", alice.id), &other.token)
        .await;
    assert_eq!(titles(&now).len(), 3);
}

async fn every_caller_without_a_live_read_grant_is_refused_and_logged(app: TestApp) {
    let alice = passport(&app).await;
    let no_grant = app.org("No grant", "shared:read").await;
    let expired = app.org("Expired", "shared:read").await;
    let revoked = app.org("Revoked", "shared:read").await;
    let writer = app.org("Writer", "shared:read records:write").await;
    let unscoped = app.org("Unscoped", "records:write").await;
    let dropped = app.org("Dropped client", "shared:read").await;
    // Revoked clients are refused as revoked, whatever else they lack.
    let dropped_ungranted = app.org("Dropped client, no grant", "shared:read").await;
    let dropped_unscoped = app.org("Dropped client, no scope", "records:write").await;

    let expired_grant = grant(&app, &alice, &expired, "read", json!("all")).await;
    let past = Timestamp::from(Utc::now() - Duration::days(1));
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        diesel::update(grants::table.find(GrantId(expired_grant.parse().unwrap())))
            .set(grants::expires_at.eq(past))
            .execute(&mut *db.get().unwrap())
            .unwrap();
    })
    .await
    .unwrap();
    let revoked_grant = grant(&app, &alice, &revoked, "read", json!("all")).await;
    app.delete(&format!("/v1/me/grants/{revoked_grant}"), &alice.token)
        .await
        .expect(200);
    grant(&app, &alice, &writer, "write", json!("all")).await;
    grant(&app, &alice, &unscoped, "read", json!("all")).await;
    grant(&app, &alice, &dropped, "read", json!("all")).await;
    grant(&app, &alice, &dropped_unscoped, "read", json!("all")).await;
    for org in [&dropped, &dropped_ungranted, &dropped_unscoped] {
        let db = app.db.clone();
        let client_id = org.client_id.clone();
        actix_web::rt::task::spawn_blocking(move || {
            learning_passport::organisations::revoke_client(
                &mut db.get().unwrap(),
                None,
                &client_id,
            )
            .unwrap()
        })
        .await
        .unwrap();
    }
    // Another organisation's grant does not help.
    let bystander = app.org("Bystander", "shared:read").await;
    grant(&app, &alice, &bystander, "read", json!("all")).await;

    let before = events(&app, &alice).await.len();
    let mut attempts = 0;
    for path in endpoints(&alice) {
        for (org, status) in [
            (&no_grant, 404),
            (&expired, 404),
            (&revoked, 404),
            (&writer, 404),
            (&unscoped, 403),
            (&dropped, 401),
            (&dropped_ungranted, 401),
            (&dropped_unscoped, 401),
        ] {
            let reply = app.get(&path, &org.token).await;
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{} on {path}: {:#}",
                org.client_id,
                reply.body
            );
            reply.expect_problem(status);
            attempts += 1;
        }
    }
    // Refusals are written a moment after the answer, off its path.
    support::eventually("each refused attempt is logged", || async {
        events(&app, &alice).await.len() - before == attempts
    })
    .await;
    let log = events(&app, &alice).await;
    assert!(
        log[..attempts]
            .iter()
            .all(|e| e["allowed"] == false && e["reason"].is_string())
    );
    assert!(
        log.iter()
            .all(|e| e["organisation_id"] != bystander.organisation_id.as_str())
    );
}

async fn a_person_who_does_not_exist_looks_like_one_who_shares_nothing(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let unknown = app
        .get(
            "/v1/people/0190a000-0000-7000-8000-000000000000/records",
            &employer.token,
        )
        .await;
    let unshared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    assert_eq!(unknown.status, unshared.status);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("instance");
        v
    };
    assert_eq!(strip(&unknown.body), strip(&unshared.body));
    app.get("/v1/people/not-a-uuid/records", &employer.token)
        .await
        .expect_problem(404);
}

async fn an_organisation_cannot_flood_a_persons_log_with_refusals(app: TestApp) {
    let alice = passport(&app).await;
    let prober = app.org("Prober", "shared:read").await;
    let other = app.org("Other", "shared:read").await;
    let path = format!("/v1/people/{}/records", alice.id);
    for _ in 0..(learning_passport::access::MAX_REFUSALS_PER_DAY + 15) {
        app.get(&path, &prober.token).await.expect_problem(404);
    }
    // Another organisation's refusals are still written.
    app.get(&path, &other.token).await.expect_problem(404);
    let count = |events: &[Value], org: &str| {
        events
            .iter()
            .filter(|e| e["organisation_id"] == org && e["allowed"] == false)
            .count() as i64
    };
    support::eventually("the other organisation's refusal is logged", || async {
        count(&events(&app, &alice).await, &other.organisation_id) == 1
    })
    .await;
    let log = events(&app, &alice).await;
    assert_eq!(
        count(&log, &prober.organisation_id),
        learning_passport::access::MAX_REFUSALS_PER_DAY,
        "one organisation's refusals are capped for the day"
    );
}

async fn refusals_cost_the_same_whether_or_not_the_person_exists(app: TestApp) {
    // The time itself is measured by the benchmark; here: the same answer, and the refusal of
    // a real person reaches their log only after the answer, never on its path.
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let made_up = app
        .get(
            "/v1/people/0190a000-0000-7000-8000-000000000001/records",
            &employer.token,
        )
        .await;
    let real = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    assert_eq!(
        (made_up.status, real.status),
        (real.status, support::StatusCode::NOT_FOUND)
    );
    support::eventually("the refusal reaches alice's log", || async {
        events(&app, &alice)
            .await
            .iter()
            .any(|e| e["allowed"] == false)
    })
    .await;
}

async fn revocation_takes_effect_on_the_next_request(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let id = grant(&app, &alice, &employer, "read", json!("all")).await;
    let path = format!("/v1/people/{}/records", alice.id);
    app.get(&path, &employer.token).await.expect(200);
    app.delete(&format!("/v1/me/grants/{id}"), &alice.token)
        .await
        .expect(200);
    app.get(&path, &employer.token).await.expect_problem(404);
    assert_eq!(
        app.get("/v1/grants", &employer.token).await.body["items"],
        json!([])
    );

    // The refusal is written a moment after its answer.
    support::eventually("the refused read is logged", || async {
        events(&app, &alice).await[0]["allowed"] == false
    })
    .await;
    let log = events(&app, &alice).await;
    assert_eq!(log[1]["allowed"], true);
    assert_eq!(log[1]["grant_id"], id.as_str());
    snapshot!("access_event", log[1]);
}

async fn revocation_holds_across_instances(mut app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let id = grant(&app, &alice, &employer, "read", json!("all")).await;
    let other = app.another_instance().await;
    let read = |base: String| {
        let http = app.http.clone();
        let token = employer.token.clone();
        let path = format!("{base}/v1/people/{}/records", alice.id);
        async move {
            http.get(path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(read(other.clone()).await, 200);
    // Revoked through one instance, refused by the other on its very next request.
    app.delete(&format!("/v1/me/grants/{id}"), &alice.token)
        .await
        .expect(200);
    assert_eq!(read(other.clone()).await, 404);
    assert_eq!(read(app.base_url.clone()).await, 404);
}

async fn n_reads_make_n_access_events(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(&app, &alice, &employer, "read", json!("all")).await;
    let reads = 7;
    for i in 0..reads {
        let path = if i % 2 == 0 {
            format!("/v1/people/{}/records", alice.id)
        } else {
            format!("/v1/people/{}/records/{}", alice.id, alice.course)
        };
        app.get(&path, &employer.token).await.expect(200);
    }
    let log = events(&app, &alice).await;
    assert_eq!(log.len(), reads);
    assert!(log.iter().all(|e| e["allowed"] == true
        && e["organisation_name"] == "Employer"
        && e["client_id"] == employer.client_id.as_str()));
    let by_org = app
        .get(
            &format!(
                "/v1/me/access-events?organisation_id={}",
                employer.organisation_id
            ),
            &alice.token,
        )
        .await;
    assert_eq!(by_org.body["items"].as_array().unwrap().len(), reads);
    let later = app
        .get(
            &format!(
                "/v1/me/access-events?from={}",
                in_days(1).replace('+', "%2B")
            ),
            &alice.token,
        )
        .await;
    assert_eq!(later.body["items"], json!([]));
}

/// Many reads at once: their events are committed together, and every read has its own.
async fn concurrent_reads_each_leave_their_event(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(&app, &alice, &employer, "read", json!("all")).await;
    let reads = 40;
    let path = format!("/v1/people/{}/records", alice.id);
    let replies =
        futures_util::future::join_all((0..reads).map(|_| app.get(&path, &employer.token))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(events(&app, &alice).await.len(), reads);
}

/// A group commit of more events than one PostgreSQL statement can carry (a burst of worklist
/// pages) writes them all: in statements of at most 1,000 events, below its 65,535 values.
async fn a_group_of_many_events_is_written_whole(app: TestApp) {
    use learning_passport::access::{self, Access};
    use learning_passport::db::ids::{OrganisationId, PersonId};
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let person_id = PersonId(alice.id.parse().unwrap());
    let organisation_id = OrganisationId(employer.organisation_id.parse().unwrap());
    let client_id = employer.client_id.clone();
    let events = 7_000;
    app.db
        .run(move |conn| {
            let accesses = (0..events)
                .map(|i| Access {
                    person_id,
                    organisation_id,
                    client_id: &client_id,
                    grant_id: None,
                    action: "records.list",
                    resource: format!("records?page={i}"),
                    allowed: true,
                    reason: None,
                })
                .collect();
            access::append_all(conn, accesses)
        })
        .await
        .unwrap();
    let count: i64 = app
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use learning_passport::db::schema::access_events;
            Ok(access_events::table
                .filter(access_events::person_id.eq(person_id))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(count, events as i64);
}

/// Runs SQL of the test's own on the service's database.
async fn execute(app: &TestApp, sql: &'static str) {
    use diesel::connection::SimpleConnection;
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || db.get().unwrap().batch_execute(sql).unwrap())
        .await
        .unwrap();
}

/// When the access log cannot be written, no read leaves: every organisation read is answered
/// 503 with no data, and serves again once the log can be written.
async fn no_read_leaves_when_its_access_event_cannot_be_committed(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(&app, &alice, &employer, "read", json!("all")).await;
    let profile = app
        .post(
            "/v1/requirement-profiles",
            &employer.token,
            json!({"name": "Ward", "requirements": [{"type": "hours", "kind": "cpd", "hours": 1, "within_days": 365}]}),
        )
        .await;
    profile.expect(201);
    let profile = profile.body["id"].as_str().unwrap().to_owned();
    execute(
        &app,
        match app.backend {
            support::Backend::Sqlite => {
                "CREATE TRIGGER refuse_events BEFORE INSERT ON access_events \
                 BEGIN SELECT RAISE(ABORT, 'the log is full'); END;"
            }
            support::Backend::Postgres => {
                "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'the log is full'; END $$; \
                 CREATE TRIGGER refuse_events BEFORE INSERT ON access_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_events();"
            }
        },
    )
    .await;
    let reads = [
        format!("/v1/people/{}/records", alice.id),
        format!("/v1/people/{}/records/{}", alice.id, alice.course),
        format!("/v1/people/{}/attainments", alice.id),
        format!("/v1/people/{}/compliance?profile={profile}", alice.id),
        format!("/v1/compliance?profile={profile}"),
    ];
    for path in &reads {
        let reply = app.get(path, &employer.token).await;
        assert_eq!(reply.status, 503, "{path}: {}", reply.body);
        let text = reply.body.to_string();
        assert!(
            !text.contains("Fire safety") && !text.contains("Tropical medicine"),
            "{path} leaked data: {text}"
        );
    }
    // The person's own reads are not organisation reads: they never wait for the log.
    app.get("/v1/me/records", &alice.token).await.expect(200);
    execute(
        &app,
        match app.backend {
            support::Backend::Sqlite => "DROP TRIGGER refuse_events",
            support::Backend::Postgres => "DROP TRIGGER refuse_events ON access_events",
        },
    )
    .await;
    for path in &reads {
        app.get(path, &employer.token).await.expect(200);
    }
    assert_eq!(events(&app, &alice).await.len(), reads.len());
}

async fn voided_records_leave_every_organisations_view(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    grant(&app, &alice, &employer, "read", json!("all")).await;
    let db = app.db.clone();
    let course = alice.course.clone();
    actix_web::rt::task::spawn_blocking(move || {
        diesel::update(records::table.find(RecordId(course.parse().unwrap())))
            .set(records::voided_at.eq(Some(Timestamp::now())))
            .execute(&mut *db.get().unwrap())
            .unwrap();
    })
    .await
    .unwrap();
    let shared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    assert_eq!(titles(&shared), vec!["Fire safety"]);
    app.get(
        &format!("/v1/people/{}/records/{}", alice.id, alice.course),
        &employer.token,
    )
    .await
    .expect_problem(404);
}

async fn the_organisations_grant_list_needs_a_scope_and_shows_only_its_own(app: TestApp) {
    let alice = passport(&app).await;
    let employer = app.org("Employer", "shared:read").await;
    let platform = app.org("Platform", "records:write").await;
    let admin = app.org("Admin", "admin").await;
    grant(&app, &alice, &employer, "read", json!("all")).await;
    grant(&app, &alice, &platform, "write", json!("all")).await;
    assert_eq!(
        app.get("/v1/grants", &employer.token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let platform_view = app
        .get("/v1/grants?permission=write", &platform.token)
        .await;
    assert_eq!(platform_view.body["items"][0]["permission"], "write");
    assert_eq!(
        app.get("/v1/grants?permission=read", &platform.token)
            .await
            .body["items"],
        json!([])
    );
    app.get("/v1/grants", &admin.token)
        .await
        .expect_problem(403);
    app.get("/v1/grants", &alice.token)
        .await
        .expect_problem(403);
}

on_both_backends!(
    an_organisation_cannot_flood_a_persons_log_with_refusals,
    refusals_cost_the_same_whether_or_not_the_person_exists,
    a_live_read_grant_shows_exactly_its_scope,
    scopes_by_activity_and_by_id_combine_and_hidden_records_never_show,
    every_caller_without_a_live_read_grant_is_refused_and_logged,
    a_person_who_does_not_exist_looks_like_one_who_shares_nothing,
    revocation_takes_effect_on_the_next_request,
    revocation_holds_across_instances,
    n_reads_make_n_access_events,
    concurrent_reads_each_leave_their_event,
    a_group_of_many_events_is_written_whole,
    no_read_leaves_when_its_access_event_cannot_be_committed,
    voided_records_leave_every_organisations_view,
    the_organisations_grant_list_needs_a_scope_and_shows_only_its_own,
);
