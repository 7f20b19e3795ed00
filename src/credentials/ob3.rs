//! Open Badges 3.0 `OpenBadgeCredential`s and CLR 2.0 `ClrCredential`s (VC data model 2.0), as
//! the payloads of their VC-JWTs: the payload is the credential itself, with the JWT's
//! registered claims beside it (`iss` is the issuer's id, `jti` the credential's, `nbf` and
//! `exp` its validity).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::badge::{Badge, OB_CONTEXT, VC2_CONTEXT, framework_url, service_profile};
use super::recipient::Binding;
use crate::frameworks::Framework;

/// The CLR 2.0 context.
pub const CLR_CONTEXT: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json";
/// 1EdTech's JSON schemas, named in `credentialSchema` for the validators that read it, as the
/// VC 2.0 context's `JsonSchema` (the `1EdTechJsonSchemaValidator2019` of Open Badges' examples
/// is defined in no context, and fails JSON-LD safe mode).
const OB_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";
const CLR_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json";
const SCHEMA_VALIDATOR: &str = "JsonSchema";

/// When a credential is valid: from what it attests, to its own end or what it attests
/// lapsing, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub awarded: DateTime<Utc>,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A badge as an `AchievementCredential` object, without JWT claims: as a CLR holds it.
pub fn achievement_credential(
    id: &str,
    badge: &Badge,
    identities: &[Value],
    validity: Validity,
) -> Value {
    let mut subject = badge.subject.clone();
    if !identities.is_empty() {
        subject["identifier"] = json!(identities);
    }
    let mut credential = json!({
        "@context": [VC2_CONTEXT, OB_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": badge.name,
        "issuer": badge.issuer,
        "validFrom": timestamp(validity.from),
        "validUntil": timestamp(validity.until),
        "awardedDate": timestamp(validity.awarded),
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA, "type": SCHEMA_VALIDATOR}],
    });
    if !badge.evidence.is_empty() {
        credential["evidence"] = json!(badge.evidence);
    }
    credential
}

/// The JWT payload of a credential object: the credential, with its registered claims.
pub fn jwt_payload(mut credential: Value, status: Value, validity: Validity) -> Value {
    credential["credentialStatus"] = status;
    credential["iss"] = credential["issuer"]["id"].clone();
    credential["jti"] = credential["id"].clone();
    credential["nbf"] = json!(validity.from.timestamp());
    credential["iat"] = json!(validity.awarded.timestamp());
    credential["exp"] = json!(validity.until.timestamp());
    credential
}

/// What a CLR holds besides its credentials.
pub struct ClrContents<'a> {
    pub holder_name: Option<&'a str>,
    /// Each badge with the id it has inside the CLR.
    pub badges: Vec<(String, Badge)>,
    /// The frameworks of the attainments among them.
    pub frameworks: Vec<&'a Framework>,
    /// Each attainment's evidence records, as (attainment id, record id) pairs.
    pub evidence_links: Vec<(uuid::Uuid, uuid::Uuid)>,
    /// Whether the passport holds more than what was chosen.
    pub partial: bool,
}

/// A `ClrCredential` holding the badges and how their achievements are associated: each
/// outcome is a child of its framework (an achievement of the CLR of its own), and a record
/// given as evidence of an attainment is related to the outcome.
pub fn clr_credential(
    public_url: &str,
    id: &str,
    contents: &ClrContents,
    holder: &Binding,
    validity: Validity,
) -> Value {
    let achievement_of = |badge: &Badge| badge.achievement["id"].as_str().map(str::to_owned);
    let mut credentials = Vec::new();
    let mut associations = Vec::new();
    for (inner_id, badge) in &contents.badges {
        let inner = Validity {
            until: badge
                .valid_until
                .map_or(validity.until, |u| u.min(validity.until)),
            from: badge.valid_from.unwrap_or(validity.awarded),
            ..validity
        };
        credentials.push(achievement_credential(
            inner_id,
            badge,
            &holder.objects(),
            inner,
        ));
    }
    let framework_achievements: Vec<Value> = contents
        .frameworks
        .iter()
        .map(|f| {
            json!({
                "id": framework_url(public_url, f),
                "type": ["Achievement"],
                "achievementType": "ext:LearningOutcomesFramework",
                "name": format!("{} {}", f.title, f.version),
                "description": f.description.clone().unwrap_or_else(|| format!("The learning outcomes of {}, published by {}.", f.title, f.publisher)),
                "criteria": {"narrative": "The outcomes of this framework the holder attained are its children in this record."},
                "humanCode": f.code,
            })
        })
        .collect();
    for (_, badge) in &contents.badges {
        let Some(attainment_id) = badge.attainment_id else {
            continue;
        };
        let Some(outcome) = achievement_of(badge) else {
            continue;
        };
        let mut associate = |kind: &str, source: &str, target: &str| {
            let item = association(kind, source, target);
            if !associations.contains(&item) {
                associations.push(item);
            }
        };
        if let Some((framework, _)) = outcome.split_once('#') {
            associate("isChildOf", &outcome, framework);
        }
        for (_, record_id) in contents
            .evidence_links
            .iter()
            .filter(|(a, _)| *a == attainment_id)
        {
            let evidence = contents
                .badges
                .iter()
                .find(|(_, b)| b.record_id == Some(*record_id))
                .and_then(|(_, b)| achievement_of(b));
            if let Some(record_achievement) = evidence.filter(|r| *r != outcome) {
                associate("isRelatedTo", &record_achievement, &outcome);
            }
        }
    }
    let mut subject = json!({
        "type": ["ClrSubject"],
        "verifiableCredential": credentials,
    });
    subject["identifier"] = json!(holder.objects());
    if !framework_achievements.is_empty() {
        subject["achievement"] = json!(framework_achievements);
    }
    if !associations.is_empty() {
        subject["association"] = json!(associations);
    }
    let name = match contents.holder_name {
        Some(holder) => format!("Learning Passport of {holder}"),
        None => "Learning Passport".to_owned(),
    };
    json!({
        "@context": [VC2_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": name,
        "description": "Training records and learning-outcome attainments the holder chose from their Learning Passport.",
        "partial": contents.partial,
        "issuer": service_profile(public_url),
        "validFrom": timestamp(validity.from),
        "validUntil": timestamp(validity.until),
        "awardedDate": timestamp(validity.awarded),
        "credentialSubject": subject,
        "credentialSchema": [{"id": CLR_SCHEMA, "type": SCHEMA_VALIDATOR}],
    })
}

fn association(kind: &str, source: &str, target: &str) -> Value {
    json!({"type": "Association", "associationType": kind, "sourceId": source, "targetId": target})
}
