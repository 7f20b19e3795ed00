//! Erasing a person's passport erases them from every organisation's LRS
//! (`xapi::erase_person`, called from the person-erasure transaction): the statements whose
//! actor or object they are — named by their passport account or by the email their identity
//! provider vouched for — with the statements that void or refer to those, the attachments no
//! other statement declares, and their State and Agent Profile documents. What names them only
//! in passing (another person's statement with them as instructor, a group they belong to),
//! and everyone else's data, stays. Everything is stored and read back through the HTTP API.

mod support;

use learning_passport::db::ids::PersonId;
use learning_passport::xapi::{ErasedXapi, erase_person};
use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;
use uuid::Uuid;

const VERIFIED_EMAIL: &str = "Alice@Example.org";

fn sha1_hex(text: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The person, as a statement names them by their passport account.
fn account(app: &TestApp, person: Uuid, trailing_slash: bool) -> Value {
    let mut home = app.settings.issuer();
    if trailing_slash {
        home.push('/');
    }
    json!({"objectType": "Agent", "account": {"homePage": home, "name": person.to_string()}})
}

fn agent(mbox: &str) -> Value {
    json!({"objectType": "Agent", "mbox": format!("mailto:{mbox}")})
}

fn by(actor: Value, verb: &str) -> Value {
    set(
        statement("nobody@example.org", verb, COURSE),
        "/actor",
        actor,
    )
}

fn with_attachment(statement: Value, declaration: Value) -> Value {
    set(statement, "/attachments", json!([declaration]))
}

async fn erase(app: &TestApp, person: Uuid, email: Option<&'static str>) -> ErasedXapi {
    let (db, public_url) = (app.db.clone(), app.settings.issuer());
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        erase_person(&mut conn, &public_url, PersonId(person), email)
    })
    .await
    .unwrap()
    .unwrap()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn erasure_removes_the_person_from_every_lrs_and_nothing_else(app: TestApp) {
    let acme = Lrs::new(&app, "Acme Learning").await;
    let bolt = Lrs::new(&app, "Bolt Training").await;
    let alice = Uuid::now_v7();
    let bob = agent("bob@example.org");

    // Hers, named every way.
    let certificate = b"Certificate: Alice, fire safety.";
    let shared = b"Course handbook, shared by every learner.";
    let mine = store_with(
        &acme,
        &app,
        &with_attachment(
            by(account(&app, alice, false), "completed"),
            declared_attachment(certificate, None),
        ),
        &[Part::new("text/plain", certificate)],
    )
    .await;
    let by_mbox = store_with(
        &acme,
        &app,
        &with_attachment(
            by(agent("alice@example.org"), "attempted"),
            declared_attachment(shared, None),
        ),
        &[Part::new("text/plain", shared)],
    )
    .await;
    let by_sha1 = acme
        .store(
            &app,
            by(
                json!({"mbox_sha1sum": sha1_hex("mailto:alice@example.org")}),
                "experienced",
            ),
        )
        .await
        .remove(0);
    // About her: she is the object.
    let about_her = acme
        .store(
            &app,
            set(
                by(bob.clone(), "mentored"),
                "/object",
                account(&app, alice, true),
            ),
        )
        .await
        .remove(0);
    // Voiding hers, and referring to hers.
    let voiding_mine = acme.store(&app, voiding(&mine)).await.remove(0);
    let comment = acme
        .store(
            &app,
            set(
                by(agent("carol@example.org"), "commented"),
                "/object",
                json!({"objectType": "StatementRef", "id": by_mbox}),
            ),
        )
        .await
        .remove(0);
    // A voiding statement stored before the statement it voids.
    let late = Uuid::new_v4().to_string();
    let early_voiding = acme.store(&app, voiding(&late)).await.remove(0);
    acme.store(
        &app,
        with_id(by(agent("alice@example.org"), "attempted"), &late),
    )
    .await;
    // In another organisation's LRS, by her email as her identity provider spells it.
    let elsewhere = bolt
        .store(&app, by(agent("Alice@EXAMPLE.ORG"), "completed"))
        .await
        .remove(0);

    // Not hers: others' statements, even those naming her in passing.
    let bobs_with_the_handbook = acme
        .store(
            &app,
            with_attachment(
                by(bob.clone(), "attempted"),
                // Declared in upper case, by its fileUrl: still the same content.
                set(
                    declared_attachment(shared, Some("https://example.org/handbook.txt")),
                    "/sha2",
                    json!(sha256(shared).to_uppercase()),
                ),
            ),
        )
        .await
        .remove(0);
    let instructed = acme
        .store(
            &app,
            set(
                by(bob.clone(), "completed"),
                "/context",
                json!({"instructor": agent("alice@example.org")}),
            ),
        )
        .await
        .remove(0);
    let group = acme
        .store(
            &app,
            by(
                json!({"objectType": "Group", "name": "Ward 3",
                       "account": {"homePage": "https://example.org", "name": "ward-3"},
                       "member": [agent("alice@example.org"), bob.clone()]}),
                "attended",
            ),
        )
        .await
        .remove(0);
    let impostor = acme
        .store(
            &app,
            by(
                json!({"account": {"homePage": "https://elsewhere.example", "name": alice.to_string()}}),
                "completed",
            ),
        )
        .await
        .remove(0);
    let namesake = acme
        .store(&app, by(agent("alice@example.org.uk"), "completed"))
        .await
        .remove(0);
    let bobs_elsewhere = bolt
        .store(&app, by(bob.clone(), "completed"))
        .await
        .remove(0);

    // Documents: hers (state and agent profile, in both LRSs) and others'.
    let her_state = state(COURSE, &agent("alice@example.org"), None, Some("bookmark"));
    let bobs_state = state(COURSE, &bob, None, Some("bookmark"));
    let her_profile = agent_profile(&account(&app, alice, false), Some("preferences"));
    let her_profile_elsewhere = agent_profile(
        &json!({"mbox_sha1sum": sha1_hex("mailto:alice@example.org")}),
        Some("preferences"),
    );
    let bobs_profile = agent_profile(&bob, Some("preferences"));
    let syllabus = activity_profile(COURSE, Some("syllabus"));
    // Profiles are created with If-None-Match (Communication 3.1).
    let create = [("If-None-Match", "*")];
    for path in [&her_state, &bobs_state] {
        acme.put(&app, path, json!({"page": 3})).await.expect(204);
    }
    put_with(&acme, &app, &syllabus, &create, json!({"page": 3}))
        .await
        .expect(204);
    put_with(&acme, &app, &her_profile, &create, json!({"theme": "dark"}))
        .await
        .expect(204);
    for path in [&her_profile_elsewhere, &bobs_profile] {
        put_with(&bolt, &app, path, &create, json!({"theme": "dark"}))
            .await
            .expect(204);
    }

    let erased = erase(&app, alice, Some(VERIFIED_EMAIL)).await;
    assert_eq!(
        erased,
        ErasedXapi {
            statements: 9,
            attachments: 1,
            attachment_bytes: certificate.len() as u64,
            documents: 3,
        }
    );

    // Read back: hers are gone, voided or not.
    for id in [
        &mine,
        &by_mbox,
        &by_sha1,
        &about_her,
        &voiding_mine,
        &comment,
        &early_voiding,
        &late,
    ] {
        acme.statement(&app, id).await.expect_problem(404);
        acme.get(&app, &format!("/statements?voidedStatementId={id}"))
            .await
            .expect_problem(404);
    }
    bolt.statement(&app, &elsewhere).await.expect_problem(404);
    // The rest are all there, and nothing else.
    let survivors = vec![
        bobs_with_the_handbook.clone(),
        instructed,
        group,
        impostor,
        namesake,
    ];
    assert_eq!(sorted(ids(&acme.query(&app, "").await)), sorted(survivors));
    assert_eq!(ids(&bolt.query(&app, "").await), [bobs_elsewhere]);
    // The handbook Bob's statement declares is still answered with it.
    let reply = acme
        .get(
            &app,
            &format!("/statements?statementId={bobs_with_the_handbook}&attachments=true"),
        )
        .await;
    reply.expect(200);
    assert_eq!(parts(&reply)[1].body.as_bytes(), shared);

    for (lrs, path) in [(&acme, &her_state), (&acme, &her_profile)] {
        lrs.get(&app, path).await.expect_problem(404);
    }
    bolt.get(&app, &her_profile_elsewhere)
        .await
        .expect_problem(404);
    for (lrs, path) in [
        (&acme, &bobs_state),
        (&acme, &syllabus),
        (&bolt, &bobs_profile),
    ] {
        lrs.get(&app, path).await.expect(200);
    }

    // What each organisation holds is counted exactly: the certificate's bytes are freed.
    for lrs in [&acme, &bolt] {
        assert_usage_exact(&app, &lrs.client.organisation_id).await;
    }
    assert_eq!(
        usage(&app, &acme.client.organisation_id).await,
        Some((5, 2, shared.len() as i64))
    );
    // Erasing again finds nothing.
    assert_eq!(
        erase(&app, alice, Some(VERIFIED_EMAIL)).await,
        ErasedXapi::default()
    );
}

/// An email the identity provider did not vouch for names nobody: without one, only the
/// passport account finds the person, and statements by that email stay.
async fn without_a_vouched_email_only_the_passport_account_names_the_person(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let alice = Uuid::now_v7();
    let theirs = lrs
        .store(&app, by(account(&app, alice, false), "completed"))
        .await
        .remove(0);
    let by_email = lrs
        .store(&app, by(agent("alice@example.org"), "completed"))
        .await
        .remove(0);
    let state_by_email = state(COURSE, &agent("alice@example.org"), None, Some("bookmark"));
    lrs.put(&app, &state_by_email, json!({"page": 1}))
        .await
        .expect(204);

    let erased = erase(&app, alice, None).await;
    assert_eq!(erased.statements, 1);
    assert_eq!(erased.documents, 0);
    lrs.statement(&app, &theirs).await.expect_problem(404);
    lrs.statement(&app, &by_email).await.expect(200);
    lrs.get(&app, &state_by_email).await.expect(200);
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
}

/// An attachment only the person's statements declare goes with them, however many declared
/// it, and its bytes are counted off once.
async fn an_attachment_only_the_person_declared_goes_with_their_statements(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let alice = Uuid::now_v7();
    let transcript = b"Transcript: Alice.";
    let statement = with_attachment(
        by(account(&app, alice, false), "completed"),
        declared_attachment(transcript, None),
    );
    for _ in 0..2 {
        store_with(
            &lrs,
            &app,
            &statement,
            &[Part::new("text/plain", transcript)],
        )
        .await;
    }
    let others = lrs.store(&app, base()).await.remove(0);
    let erased = erase(&app, alice, None).await;
    assert_eq!(
        erased,
        ErasedXapi {
            statements: 2,
            attachments: 1,
            attachment_bytes: transcript.len() as u64,
            documents: 0,
        }
    );
    assert_eq!(ids(&lrs.query(&app, "").await), [others]);
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((1, 0, 0))
    );
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    // The organisation can store that content again, as new.
    store_with(
        &lrs,
        &app,
        &with_attachment(base(), declared_attachment(transcript, None)),
        &[Part::new("text/plain", transcript)],
    )
    .await;
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
}

on_both_backends!(
    erasure_removes_the_person_from_every_lrs_and_nothing_else,
    without_a_vouched_email_only_the_passport_account_names_the_person,
    an_attachment_only_the_person_declared_goes_with_their_statements,
);
