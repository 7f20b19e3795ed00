//! The callers a test needs: organisations with a client and a token, people's tokens, and data
//! seeded straight into the database.

use diesel::prelude::*;
use learning_passport::auth::Scopes;
use learning_passport::organisations;
use serde_json::Value;

use super::{Method, StatusCode, TestApp};

/// An organisation client set up for a test.
#[derive(Debug, Clone)]
pub struct OrgClient {
    pub organisation_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub token: String,
}

impl TestApp {
    /// A person token for a subject, as `token person` would mint it.
    pub fn person_token(&self, subject: &str) -> String {
        self.tokens
            .issue_person_token(
                subject,
                Some(&format!("{subject}@example.org")),
                Some(&format!("Person {subject}")),
                3600,
            )
            .unwrap()
    }

    /// Creates an organisation with a client holding `scopes`, as `org create` would, and
    /// fetches a token for it through `/v1/oauth/token`.
    pub async fn org(&self, name: &str, scopes: &str) -> OrgClient {
        let name = name.to_owned();
        let scopes = Scopes::parse(scopes).unwrap();
        let db = self.db.clone();
        let credentials = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = db.get().unwrap();
            let organisation = organisations::create(&mut conn, &name, None).unwrap();
            organisations::create_client(&mut conn, organisation.id, &scopes).unwrap()
        })
        .await
        .unwrap();
        let response = self
            .http
            .post(self.url("/v1/oauth/token"))
            .basic_auth(&credentials.client_id, Some(&credentials.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "token request failed");
        let body: Value = response.json().await.unwrap();
        OrgClient {
            organisation_id: credentials.organisation_id.to_string(),
            client_id: credentials.client_id,
            client_secret: credentials.client_secret,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }
}

/// Publishes the example learning-outcomes framework (`examples/frameworks/dghp-lof-example.json`,
/// code `dghp-lof-example`, version `0.1-example`) with an administrator's token.
pub async fn publish_example_framework(app: &TestApp, admin_token: &str) {
    let framework: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/frameworks/dghp-lof-example.json"
        ))
        .unwrap(),
    )
    .unwrap();
    app.call(
        Method::PUT,
        "/v1/frameworks/dghp-lof-example/0.1-example",
        Some(admin_token),
        Some(framework),
    )
    .await
    .expect(201);
}

/// `count` self-declared records straight into the database for a person (for tests of what a
/// full passport does), in multi-row inserts.
pub async fn seed_records(app: &TestApp, person_id: &str, count: usize) {
    use learning_passport::db::ids::PersonId;
    use learning_passport::records::RecordRow;
    use learning_passport::records::model::{Learning, Provenance, RecordContent, RecordKind};
    let person = PersonId(person_id.parse().unwrap());
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let rows: Vec<RecordRow> = (0..count)
            .map(|n| {
                RecordRow::new(
                    person,
                    RecordContent {
                        learning: Learning {
                            kind: RecordKind::Cpd,
                            title: format!("Seeded {n}"),
                            activity_code: None,
                            provider_name: None,
                            started_at: None,
                            completed_at: None,
                            expires_at: None,
                            result: None,
                            score: None,
                            hours: None,
                            evidence: vec![],
                        },
                        notes: None,
                    },
                    Provenance::SelfDeclared,
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(
                learning_passport::db::schema::records::table
            )
            .values(chunk)
            .execute(c))
            .unwrap();
        }
    })
    .await
    .unwrap();
}
