//! The passport's own credential, `LearningPassportCredential` (W3C VC data model 1.1): every
//! chosen record and attainment as a claim, in one credential.

use serde_json::{Value, json};

use super::context;
use crate::attainments::Attainment;
use crate::frameworks::Framework;
use crate::records::RecordRow;
use crate::records::model::Provenance;

/// The `vc` claim of a passport credential.
pub fn credential(public_url: &str, subject: Value, status: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/status/v1", context::url(public_url)],
        "type": ["VerifiableCredential", "LearningPassportCredential"],
        "credentialSubject": subject,
        "credentialStatus": status,
    })
}

/// An attainment, named in the words of its framework.
pub fn attainment_claim(a: &Attainment, framework: &Framework) -> Value {
    let outcome = framework
        .domains
        .iter()
        .flat_map(|d| d.outcomes.iter())
        .find(|o| o.code == a.outcome_code);
    let level_name = framework
        .levels
        .iter()
        .find(|l| l.level == a.level)
        .map(|l| l.name.clone());
    let mut claim = json!({
        "type": "OutcomeAttainment",
        "id": format!("urn:uuid:{}", a.id),
        "framework": {"code": framework.code, "version": framework.version, "title": framework.title, "publisher": framework.publisher},
        "outcome": {"code": a.outcome_code, "title": outcome.map(|o| o.title.clone())},
        "level": a.level,
        "levelName": level_name,
        "achievedOn": a.achieved_on,
        "status": a.status,
    });
    if let Some(v) = &a.verification {
        claim["verifiedBy"] = json!({"organisation": {"id": format!("urn:uuid:{}", v.organisation_id), "name": v.organisation_name},
                                     "assessorName": v.assessor_name, "assessorRole": v.assessor_role, "level": v.level, "verifiedAt": v.verified_at});
    }
    claim
}

/// A record, with who issued it (or that it is self-declared).
pub fn record_claim(row: &RecordRow, issuer_name: Option<&str>) -> Value {
    let content = row.content();
    let mut claim = json!({
        "type": "TrainingRecord",
        "id": format!("urn:uuid:{}", row.id),
        "kind": content.learning.kind,
        "title": content.learning.title,
        "provenance": row.provenance(),
    });
    let object = claim.as_object_mut().expect("a JSON object");
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            object.insert(key.into(), value);
        }
    };
    put("activityCode", json!(content.learning.activity_code));
    put("provider", json!(content.learning.provider_name));
    put("startedAt", json!(content.learning.started_at));
    put("completedAt", json!(content.learning.completed_at));
    put("expiresAt", json!(content.learning.expires_at));
    put("result", json!(content.learning.result));
    put("score", json!(content.learning.score));
    put("hours", json!(content.learning.hours));
    if row.provenance() == Provenance::Issued {
        // No `id` when the issuer is unknown: JSON-LD allows no null identifier.
        let mut issued_by = json!({"name": issuer_name});
        if let Some(issuer) = row.issuer_organisation_id {
            issued_by["id"] = json!(format!("urn:uuid:{issuer}"));
        }
        put("issuedBy", issued_by);
    }
    claim
}
