//! Records and attainments as Open Badges 3.0 achievements: what was achieved (the
//! `Achievement`: name, description, criteria, type, the activity code or framework outcome and
//! its alignments), what the person got (the `Result`s), the evidence, the validity and who
//! stands behind it.
//!
//! The issuer of an issued record is its organisation as the passport knows it (a `did:web`
//! under the service's, see [`super::did::organisation_did`]); of a verified attainment, the
//! organisation that signed it off. What the person declared themselves is issued by the
//! service itself and says so: its achievement is tagged `self-declared`.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::{Value, json};

use super::did::{did, organisation_did};
use crate::attainments::{Attainment, AttainmentStatus};
use crate::frameworks::Framework;
use crate::records::RecordRow;
use crate::records::model::{Evidence, Provenance, RecordKind, RecordResult};

/// The OB 3.0 context, after the VC 2.0 one.
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The VC data model 2.0 context.
pub const VC2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The tag of what the person declared, unconfirmed by any organisation.
pub const SELF_DECLARED: &str = "self-declared";
/// The service's name as an issuer.
const SERVICE_NAME: &str = "Learning Passport";

/// One badge's content, before it gets its id, holder and status.
#[derive(Debug, Clone)]
pub struct Badge {
    pub name: String,
    pub issuer: Value,
    pub achievement: Value,
    /// The `AchievementSubject` without `identifier`.
    pub subject: Value,
    pub evidence: Vec<Value>,
    /// When what it attests was achieved.
    pub valid_from: Option<DateTime<Utc>>,
    /// When what it attests lapses (a record's expiry).
    pub valid_until: Option<DateTime<Utc>>,
    /// What it is of, as the credential's row remembers it.
    pub record_id: Option<uuid::Uuid>,
    pub attainment_id: Option<uuid::Uuid>,
}

/// The service as an OB 3.0 issuer `Profile`.
pub fn service_profile(public_url: &str) -> Value {
    json!({
        "id": did(public_url),
        "type": ["Profile"],
        "name": SERVICE_NAME,
        "url": public_url,
    })
}

fn organisation_profile(public_url: &str, id: uuid::Uuid, name: Option<&str>) -> Value {
    json!({
        "id": organisation_did(public_url, id),
        "type": ["Profile"],
        "name": name.unwrap_or("an organisation the passport no longer knows by name"),
        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": format!("urn:uuid:{id}"), "identifierType": "systemId"}],
    })
}

/// An Open Badges `achievementType` for a kind of record.
fn achievement_type(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Course | RecordKind::StatutoryMandatory => "Course",
        RecordKind::Qualification => "Certificate",
        RecordKind::Cpd => "ext:ContinuingProfessionalDevelopment",
        RecordKind::Placement => "Fieldwork",
        RecordKind::Other => "Achievement",
    }
}

fn evidence_of(links: &[Evidence]) -> Vec<Value> {
    links
        .iter()
        .map(|e| {
            let mut evidence = json!({"id": e.url, "type": ["Evidence"]});
            if let Some(d) = &e.description {
                evidence["name"] = json!(d);
            }
            evidence
        })
        .collect()
}

/// An achievement's id. An organisation's activity code that is a URL is its own id; any other
/// code of an organisation's is the same achievement in everyone's badges of that organisation
/// (a UUID derived from both); a self-declared record, or one without a code, is an achievement
/// of its own.
fn achievement_id(row: &RecordRow, issuer: Option<uuid::Uuid>, code: Option<&str>) -> String {
    let (Some(issuer), Some(code)) = (issuer, code) else {
        return format!("urn:uuid:{}", row.id);
    };
    if url::Url::parse(code).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "urn")) {
        return code.to_owned();
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("learning-passport activity {issuer} {code}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!(
        "urn:uuid:{}",
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    )
}

/// An id under an achievement's (`{id}#{part}`, or `{id}-{part}` when it has a fragment).
fn part_of(id: &str, part: &str) -> String {
    if id.contains('#') {
        format!("{id}-{part}")
    } else {
        format!("{id}#{part}")
    }
}

/// A record as a badge.
pub fn of_record(public_url: &str, row: &RecordRow, issuer_name: Option<&str>) -> Badge {
    let content = row.content();
    let learning = &content.learning;
    let issued = row.provenance() == Provenance::Issued;
    let issuer = match row.issuer_organisation_id {
        Some(org) if issued => organisation_profile(public_url, org.0, issuer_name),
        _ => service_profile(public_url),
    };
    let issuing_organisation = row.issuer_organisation_id.filter(|_| issued).map(|o| o.0);
    let achievement_id =
        achievement_id(row, issuing_organisation, learning.activity_code.as_deref());
    let mut narrative = if issued {
        format!(
            "Recorded by {}.",
            issuer["name"].as_str().unwrap_or_default()
        )
    } else {
        "Self-declared by the holder; not confirmed by a learning platform.".to_owned()
    };
    if let Some(provider) = &learning.provider_name {
        narrative.push_str(&format!(" Provided by {provider}."));
    }
    let mut evidence = evidence_of(&learning.evidence);
    if let Some(hours) = learning.hours {
        evidence.push(json!({"type": ["Evidence"], "name": "Hours of learning", "narrative": format!("Hours of learning: {hours}.")}));
    }
    let mut achievement = json!({
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": achievement_type(learning.kind),
        "name": learning.title,
        "description": format!("{}: {}", kind_words(learning.kind), learning.title),
        "criteria": {"narrative": narrative},
    });
    if let Some(code) = &learning.activity_code {
        achievement["humanCode"] = json!(code);
    }
    if !issued {
        achievement["tag"] = json!([SELF_DECLARED]);
    }
    let mut results = Vec::new();
    if let Some(result) = learning.result {
        results.push(json!({"type": ["Result"], "status": match result {
            RecordResult::Failed => "Failed",
            RecordResult::Passed | RecordResult::Attended => "Completed",
        }}));
    }
    if let Some(score) = learning.score {
        let description_id = part_of(&achievement_id, "score");
        achievement["resultDescription"] = json!([{
            "id": description_id,
            "type": ["ResultDescription"],
            "name": "Score",
            "resultType": "Percent",
            "valueMin": "0",
            "valueMax": "100",
        }]);
        results.push(json!({"type": ["Result"], "resultDescription": description_id, "value": score.to_string()}));
    }
    let mut subject = json!({"type": ["AchievementSubject"], "achievement": achievement});
    if !results.is_empty() {
        subject["result"] = json!(results);
    }
    if let Some(started) = learning.started_at {
        subject["activityStartDate"] = json!(started);
    }
    if let Some(completed) = learning.completed_at {
        subject["activityEndDate"] = json!(completed);
    }
    Badge {
        name: learning.title.clone(),
        issuer,
        achievement: subject["achievement"].clone(),
        subject,
        evidence,
        valid_from: learning.completed_at,
        valid_until: learning.expires_at,
        record_id: Some(row.id.0),
        attainment_id: None,
    }
}

fn kind_words(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Course => "Course",
        RecordKind::StatutoryMandatory => "Statutory and mandatory training",
        RecordKind::Qualification => "Qualification",
        RecordKind::Cpd => "Continuing professional development",
        RecordKind::Placement => "Placement",
        RecordKind::Other => "Learning",
    }
}

/// Where a framework version is published by the service; its outcomes and levels are
/// fragments of it.
pub fn framework_url(public_url: &str, framework: &Framework) -> String {
    format!(
        "{}/v1/frameworks/{}/{}",
        public_url.trim_end_matches('/'),
        framework.code,
        framework.version
    )
}

/// The alignments of a framework outcome: the outcome as the service publishes it, and the
/// CASE item it was imported from (`CFItem`).
fn outcome_alignments(public_url: &str, framework: &Framework, outcome_code: &str) -> Vec<Value> {
    let outcome = framework
        .domains
        .iter()
        .flat_map(|d| d.outcomes.iter())
        .find(|o| o.code == outcome_code);
    let name = outcome.map_or(outcome_code, |o| o.title.as_str());
    let mut alignments = vec![json!({
        "type": ["Alignment"],
        "targetName": name,
        "targetUrl": format!("{}#{outcome_code}", framework_url(public_url, framework)),
        "targetCode": outcome_code,
        "targetFramework": format!("{} {}", framework.title, framework.version),
    })];
    if let Some(item) = outcome.and_then(|o| o.case_item.as_ref()) {
        alignments.push(json!({
            "type": ["Alignment"],
            "targetType": "CFItem",
            "targetName": name,
            "targetUrl": item.uri,
            "targetCode": item.identifier,
            "targetFramework": framework.title,
        }));
    }
    alignments
}

/// An attainment of a framework outcome as a badge: a `Competency` aligned to the outcome, its
/// level as a rubric level of the framework's scale.
pub fn of_attainment(public_url: &str, attainment: &Attainment, framework: &Framework) -> Badge {
    let framework_url = framework_url(public_url, framework);
    let outcome = framework
        .domains
        .iter()
        .flat_map(|d| d.outcomes.iter())
        .find(|o| o.code == attainment.outcome_code);
    let title = outcome.map_or(attainment.outcome_code.clone(), |o| o.title.clone());
    let level_name = |level: i32| {
        framework
            .levels
            .iter()
            .find(|l| l.level == level)
            .map_or_else(|| format!("Level {level}"), |l| l.name.clone())
    };
    let verified = attainment.status == AttainmentStatus::Verified;
    let issuer = match attainment.verification.as_ref().filter(|_| verified) {
        Some(v) => organisation_profile(public_url, v.organisation_id, Some(&v.organisation_name)),
        None => service_profile(public_url),
    };
    // Levels are the outcome's: their descriptions may be its own.
    let outcome_url = format!("{framework_url}#{}", attainment.outcome_code);
    let levels_id = format!("{outcome_url}-levels");
    let level_id = |level: i32| format!("{outcome_url}-level-{level}");
    let signed_off = attainment.verification.as_ref().filter(|_| verified);
    // What the organisation confirmed, which may be below what the person claimed.
    let level = signed_off.map_or(attainment.level, |v| v.level);
    let rubric: Vec<Value> = framework
        .levels
        .iter()
        .map(|l| {
            let mut level = json!({"id": level_id(l.level), "type": ["RubricCriterionLevel"], "name": l.name, "level": l.level.to_string()});
            let descriptor = outcome
                .and_then(|o| o.level_descriptors.iter().find(|d| d.level == l.level))
                .map(|d| d.descriptor.clone())
                .or_else(|| l.descriptor.clone());
            if let Some(d) = descriptor {
                level["description"] = json!(d);
            }
            level
        })
        .collect();
    let narrative = format!(
        "Attainment of the outcome {} of {} {} (published by {}), at a level of its scale: signed off by an organisation, or self-assessed (tagged self-declared).",
        attainment.outcome_code, framework.title, framework.version, framework.publisher
    );
    let mut evidence = evidence_of(&attainment.evidence.links);
    evidence.push(match signed_off {
        Some(v) => json!({"type": ["Evidence"], "name": "Sign-off", "narrative": format!(
            "Signed off at {} by {} ({}) of {} on {}.",
            level_name(v.level), v.assessor_name, v.assessor_role, v.organisation_name, v.verified_at.date_naive()
        )}),
        None => json!({"type": ["Evidence"], "name": "Self-assessment", "narrative": format!(
            "Self-assessed by the holder at {}; not signed off by an organisation.", level_name(level)
        )}),
    });
    let mut achievement = json!({
        "id": outcome_url,
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": title,
        "description": outcome.and_then(|o| o.description.clone()).unwrap_or_else(|| title.clone()),
        "criteria": {"narrative": narrative},
        "humanCode": attainment.outcome_code,
        "alignment": outcome_alignments(public_url, framework, &attainment.outcome_code),
        "resultDescription": [{
            "id": levels_id,
            "type": ["ResultDescription"],
            "name": format!("Level of {}", framework.title),
            "resultType": "RubricCriterionLevel",
            "rubricCriterionLevel": rubric,
        }],
    });
    if !verified {
        achievement["tag"] = json!([SELF_DECLARED]);
    }
    let achieved_on = attainment.achieved_on.and_time(NaiveTime::MIN).and_utc();
    let subject = json!({
        "type": ["AchievementSubject"],
        "achievement": achievement,
        "activityEndDate": achieved_on,
        "result": [{
            "type": ["Result"],
            "resultDescription": levels_id,
            "achievedLevel": level_id(level),
            "status": if verified { "Completed" } else { "Provisional" },
        }],
    });
    Badge {
        name: title,
        issuer,
        achievement: subject["achievement"].clone(),
        subject,
        evidence,
        valid_from: Some(achieved_on),
        valid_until: None,
        record_id: None,
        attainment_id: Some(attainment.id),
    }
}
