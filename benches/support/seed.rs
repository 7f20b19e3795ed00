//! The benchmark's data set: organisations, the activity catalogue, and people with records and
//! grants, seeded straight into the database; the rows and bodies the scenarios write; and the
//! requirement profile the compliance scenarios check against.

use diesel::prelude::*;
use learning_passport::auth::Scopes;
use learning_passport::db::DbConnection;
use learning_passport::db::ids::{GrantId, OrganisationId, PersonId};
use learning_passport::db::schema::{grants, people, records};
use learning_passport::db::types::{Json, Timestamp};
use learning_passport::grants::GrantRow;
use learning_passport::on_backend;
use learning_passport::organisations::{self, NewCredentials};
use learning_passport::people::PersonRow;
use learning_passport::records::RecordRow;
use learning_passport::records::model::{
    Learning, Provenance, RecordContent, RecordKind, RecordResult,
};
use serde_json::{Value, json};

use super::Options;

/// The organisations the scenarios act as, each with its id and client credentials.
pub struct Organisations {
    /// Reads shared passports (`shared:read`).
    pub employer: (OrganisationId, NewCredentials),
    /// Pushes completions and xAPI statements (`records:write`).
    pub platform: (OrganisationId, NewCredentials),
    /// Reads shared passports, but nobody has shared with it.
    pub prober: NewCredentials,
}

/// The employer, the platform and the prober, among 50 organisations.
pub fn organisations_with_clients(conn: &mut DbConnection) -> Organisations {
    let employer = organisations::create(conn, "Bench employer", None).unwrap();
    let employer_client =
        organisations::create_client(conn, employer.id, &Scopes::parse("shared:read").unwrap())
            .unwrap();
    let platform = organisations::create(conn, "Bench platform", None).unwrap();
    let platform_client =
        organisations::create_client(conn, platform.id, &Scopes::parse("records:write").unwrap())
            .unwrap();
    for n in 0..47 {
        organisations::create(conn, &format!("Other organisation {n}"), None).unwrap();
    }
    // An organisation that nobody has shared with: every read it makes is refused.
    let prober = organisations::create(conn, "Bench prober", None).unwrap();
    let prober_client =
        organisations::create_client(conn, prober.id, &Scopes::parse("shared:read").unwrap())
            .unwrap();
    Organisations {
        employer: (employer.id, employer_client),
        platform: (platform.id, platform_client),
        prober: prober_client,
    }
}

/// The activity catalogue the seeded records and the requirement profile name: `ACT-0` to
/// `ACT-39`.
pub fn activities(conn: &mut DbConnection) {
    for n in 0..40 {
        learning_passport::activities::put(
            conn,
            &format!("ACT-{n}"),
            learning_passport::activities::ActivityInput {
                title: format!("Activity {n}"),
                kind: RecordKind::StatutoryMandatory,
                level: None,
                refresher_months: Some(12),
                publisher: "Bench".into(),
                source: None,
            },
        )
        .unwrap();
    }
}

/// A self-declared record of a person, the `i`th of their passport.
pub fn record(person: PersonId, i: usize) -> RecordRow {
    let completed = chrono::Utc::now() - chrono::Duration::days((i % 700) as i64 + 1);
    RecordRow::new(
        person,
        RecordContent {
            learning: Learning {
                kind: [
                    RecordKind::StatutoryMandatory,
                    RecordKind::Course,
                    RecordKind::Cpd,
                ][i % 3],
                title: format!("Training module {i}"),
                activity_code: Some(format!("ACT-{}", i % 40)),
                provider_name: Some("Seed provider".into()),
                started_at: None,
                completed_at: Some(completed),
                expires_at: Some(completed + chrono::Duration::days(365)),
                result: Some(RecordResult::Passed),
                score: Some(80.0),
                hours: Some(1.5),
                evidence: vec![],
            },
            notes: None,
        }
        .normalised(),
        Provenance::SelfDeclared,
    )
}

/// Seeds people with records and grants, set-based; answers the people's ids.
pub fn passports(
    conn: &mut DbConnection,
    options: &Options,
    employer: OrganisationId,
    platform: OrganisationId,
    issuer: &str,
) -> Vec<PersonId> {
    let now = Timestamp::now();
    let mut ids = Vec::with_capacity(options.people);
    for chunk in 0..options.people.div_ceil(500) {
        let people_rows: Vec<PersonRow> = (chunk * 500..((chunk + 1) * 500).min(options.people))
            .map(|n| PersonRow {
                id: PersonId::new(),
                issuer: issuer.to_owned(),
                subject: format!("person-{n}"),
                display_name: Some(format!("Person {n}")),
                email: None,
                email_verified: false,
                registration_body: None,
                registration_number: None,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        ids.extend(people_rows.iter().map(|p| p.id));
        let grant_rows: Vec<GrantRow> = people_rows
            .iter()
            .flat_map(|p| {
                [(employer, "read"), (platform, "write")].map(|(org, permission)| GrantRow {
                    id: GrantId::new(),
                    person_id: p.id,
                    organisation_id: org,
                    permission: permission.into(),
                    scope: Json(json!({"records": "all", "attainments": true})),
                    purpose: "benchmark".into(),
                    version: 1,
                    created_at: now,
                    expires_at: Timestamp::from(chrono::Utc::now() + chrono::Duration::days(300)),
                    revoked_at: None,
                })
            })
            .collect();
        learning_passport::db::transaction(conn, |conn| {
            on_backend!(conn, |c| diesel::insert_into(people::table)
                .values(&people_rows)
                .execute(c))?;
            on_backend!(conn, |c| diesel::insert_into(grants::table)
                .values(&grant_rows)
                .execute(c))?;
            let rows: Vec<RecordRow> = people_rows
                .iter()
                .flat_map(|p| (0..options.records_per_person).map(|i| record(p.id, i)))
                .collect();
            for part in rows.chunks(500) {
                on_backend!(conn, |c| diesel::insert_into(records::table)
                    .values(part)
                    .execute(c))?;
            }
            Ok(())
        })
        .unwrap();
    }
    ids
}

/// One completion of a push.
pub fn completion(person: PersonId, external_id: String) -> Value {
    json!({"person_id": person.0, "external_id": external_id, "title": "Fire safety", "kind": "statutory_mandatory",
           "completed_at": "2026-03-01T10:00:00Z", "result": "passed", "hours": 1})
}

/// Creates a 15-requirement profile as the employer: 12 activities (some any-of), CPD hours,
/// course hours, one more; answers its id.
pub async fn requirement_profile(http: &reqwest::Client, base_url: &str, token: &str) -> String {
    let mut requirements: Vec<Value> = (0..12).map(|n| json!({"type": "activity", "activity_codes": [format!("ACT-{n}"), format!("ACT-{}", n + 20)], "max_age_days": 730})).collect();
    requirements.push(json!({"type": "hours", "kind": "cpd", "hours": 10, "within_days": 365}));
    requirements.push(json!({"type": "hours", "kind": "course", "hours": 5, "within_days": 365}));
    requirements
        .push(json!({"type": "activity", "activity_codes": ["ACT-39"], "issued_only": false}));
    let profile: Value = http
        .post(format!("{base_url}/v1/requirement-profiles"))
        .bearer_auth(token)
        .json(&json!({"name": "Registered nurse, band 5", "requirements": requirements}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    profile["id"].as_str().expect("profile created").to_owned()
}
