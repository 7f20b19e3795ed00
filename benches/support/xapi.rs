//! The xAPI ingestion scenario's statements: what a learning platform sends while people take
//! a course — mostly progress (experienced, answered), one in five a pass that feeds the
//! passport.

use learning_passport::db::ids::PersonId;
use serde_json::{Value, json};

/// One POST's statements about the seeded people, every one a fresh id.
pub fn statements(
    people: &[PersonId],
    home_page: &str,
    client: usize,
    i: usize,
    count: usize,
) -> Value {
    let verbs = [
        "experienced",
        "answered",
        "experienced",
        "answered",
        "passed",
    ];
    let list: Vec<Value> = (0..count)
        .map(|k| {
            let person = people[(client * 7 + i * 131 + k * 17) % people.len()];
            let verb = verbs[k % verbs.len()];
            json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": person.0.to_string()}},
                "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": {"en-GB": verb}},
                "object": {
                    "objectType": "Activity",
                    "id": format!("https://lms.example.org/courses/fire-safety/module-{}", k % 10),
                    "definition": {"name": {"en-GB": "Fire safety awareness"}, "type": "http://adlnet.gov/expapi/activities/module"},
                },
                "result": {"success": true, "completion": true, "duration": "PT45M"},
                "context": {
                    "registration": uuid::Uuid::new_v4().to_string(),
                    "contextActivities": {"parent": [{"id": "https://lms.example.org/courses/fire-safety"}]},
                },
                "timestamp": "2026-03-01T10:00:00Z",
            })
        })
        .collect();
    Value::Array(list)
}
