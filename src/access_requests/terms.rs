//! The rules on what an organisation may ask and a person may give: the addressee's key, the
//! message, the scope a requirement profile stands for, and what counts as narrowing a scope.

use chrono::Utc;

use super::model::*;
use crate::compliance::{Requirement, RequirementProfile};
use crate::error::FieldError;
use crate::grants::{GrantScope, RecordScope, RecordSelection, check_terms};
use crate::people::model::Registration;
use crate::people::store::PersonRow;
use crate::records::RecordKind;

/// The one key an addressee is stored and matched under: `passport:<id>`,
/// `email:<lowercase address>` or `registration:<BODY>:<NUMBER>` (upper case, no spaces), so
/// that the same person asked in different spellings is one addressee.
pub fn addressee_key(addressee: &Addressee) -> Result<String, Vec<FieldError>> {
    let given = [
        addressee.passport_id.is_some(),
        addressee.email.is_some(),
        addressee.registration.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(vec![FieldError::new(
            "addressee",
            "give exactly one of passport_id, email or registration",
        )]);
    }
    if let Some(id) = addressee.passport_id {
        return Ok(format!("passport:{id}"));
    }
    if let Some(email) = &addressee.email {
        let email = email.trim();
        if email.chars().count() > 320 || !plausible_email(email) {
            return Err(vec![FieldError::new(
                "addressee.email",
                "must be an email address",
            )]);
        }
        return Ok(email_key(email));
    }
    let Some(registration) = &addressee.registration else {
        return Err(vec![FieldError::new("addressee", "is required")]);
    };
    let mut errors = Vec::new();
    let (body, number) = (squeeze(&registration.body), squeeze(&registration.number));
    // A colon would make two registrations one key (`A:B`+`C` and `A`+`B:C`).
    if body.contains(':') {
        errors.push(FieldError::new(
            "addressee.registration.body",
            "must not contain ':'",
        ));
    } else if body.is_empty() || body.chars().count() > 100 {
        errors.push(FieldError::new(
            "addressee.registration.body",
            "must be 1 to 100 characters",
        ));
    }
    if number.is_empty() || number.chars().count() > 50 {
        errors.push(FieldError::new(
            "addressee.registration.number",
            "must be 1 to 50 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(format!("registration:{body}:{number}"))
}

fn email_key(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

/// Upper case without white space: `nmc 12a 3456b` and `NMC12A3456B` are one registration.
fn squeeze(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn plausible_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// The keys a person answers to: their passport id, the email their identity provider vouched
/// for, and the registration they declared.
pub fn keys_of(person: &PersonRow) -> Vec<String> {
    let mut keys = vec![format!("passport:{}", person.id)];
    if let (Some(email), true) = (&person.email, person.email_verified) {
        keys.push(email_key(email));
    }
    if let (Some(body), Some(number)) = (&person.registration_body, &person.registration_number) {
        let registration = Addressee {
            registration: Some(Registration {
                body: body.clone(),
                number: number.clone(),
            }),
            ..Addressee::default()
        };
        if let Ok(key) = addressee_key(&registration) {
            keys.push(key);
        }
    }
    keys
}

/// What the organisation sees of an addressee key: the addressee as it was given, normalised.
pub fn addressee_of(key: &str) -> Addressee {
    let mut addressee = Addressee::default();
    if let Some(id) = key.strip_prefix("passport:") {
        addressee.passport_id = uuid::Uuid::parse_str(id).ok();
    } else if let Some(email) = key.strip_prefix("email:") {
        addressee.email = Some(email.to_owned());
    } else if let Some((body, number)) = key
        .strip_prefix("registration:")
        .and_then(|rest| rest.split_once(':'))
    {
        addressee.registration = Some(Registration {
            body: body.to_owned(),
            number: number.to_owned(),
        });
    }
    addressee
}

/// The rules on a request that need no database, but the scope of a named profile.
pub fn check(input: &AccessRequestInput, max_days: i64) -> Vec<FieldError> {
    let mut errors = match addressee_key(&input.addressee) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    match (&input.scope, input.requirement_profile_id) {
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "scope",
            "give scope or requirement_profile_id, not both",
        )),
        (None, None) => errors.push(FieldError::new(
            "scope",
            "give scope, or requirement_profile_id to ask for what that profile checks",
        )),
        (Some(scope), None) => errors.extend(check_scope(scope)),
        (None, Some(_)) => {}
    }
    if !(1..=max_days).contains(&input.duration_days) {
        errors.push(FieldError::new(
            "duration_days",
            format!("must be 1 to {max_days}"),
        ));
    }
    if let Some(message) = &input.message {
        errors.extend(check_plain_text("message", message, MAX_MESSAGE_CHARS));
    }
    // The purpose is shown to the person, and becomes the grant's, as the message is.
    errors.extend(check_plain_text("purpose", &input.purpose, 500));
    // The purpose and scope by the grants' own rules, with an expiry that always holds.
    let now = Utc::now();
    let scope = input.scope.clone().unwrap_or(GrantScope {
        records: RecordScope::All(crate::grants::AllRecords::All),
        attainments: false,
    });
    errors.extend(check_terms(
        &scope,
        &input.purpose,
        (now + chrono::Duration::days(1), "duration_days"),
        now,
        max_days.max(1),
    ));
    errors
}

fn check_scope(scope: &GrantScope) -> Vec<FieldError> {
    match &scope.records {
        RecordScope::Selected(selection) if !selection.record_ids.is_empty() => {
            vec![FieldError::new(
                "scope.records.record_ids",
                "ask by kind or activity code: which records to share is the person's choice",
            )]
        }
        _ => Vec::new(),
    }
}

/// What an organisation writes to a person is shown as plain text; what could disguise it is
/// refused: control characters (other than line breaks and tabs) and the bidirectional controls
/// that reorder what is displayed.
fn check_plain_text(field: &str, text: &str, max_chars: usize) -> Vec<FieldError> {
    if text.chars().count() > max_chars {
        return vec![FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        )];
    }
    let disguising = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
    };
    if text.chars().any(disguising) {
        return vec![FieldError::new(
            field,
            "must be plain text: no control characters or bidirectional overrides",
        )];
    }
    Vec::new()
}

/// The scope a requirement profile checks: the activity codes of its activity requirements,
/// the kinds of its hours requirements, and attainments if it has outcome requirements.
pub fn scope_of_profile(profile: &RequirementProfile) -> GrantScope {
    let mut selection = RecordSelection::default();
    let mut attainments = false;
    for requirement in &profile.requirements {
        match requirement {
            Requirement::Activity { activity_codes, .. } => {
                for code in activity_codes {
                    if !selection.activity_codes.contains(code) {
                        selection.activity_codes.push(code.clone());
                    }
                }
            }
            Requirement::Hours { kind, .. } => {
                if !selection.kinds.contains(kind) {
                    selection.kinds.push(*kind);
                }
            }
            Requirement::Outcome { .. } => attainments = true,
        }
    }
    GrantScope {
        records: RecordScope::Selected(selection),
        attainments,
    }
}

/// One record the person chose, with what decides whether a selection covers it.
pub struct RecordFacts {
    pub id: uuid::Uuid,
    pub kind: Option<RecordKind>,
    pub activity_code: Option<String>,
}

/// Why an approval's scope is not within the scope asked for, field by field. `chosen` holds
/// the records the approval names by id, as the database has them.
pub fn not_within(
    asked: &GrantScope,
    given: &GrantScope,
    chosen: &[RecordFacts],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if given.attainments && !asked.attainments {
        errors.push(FieldError::new(
            "scope.attainments",
            "attainments were not asked for",
        ));
    }
    let RecordScope::Selected(asked) = &asked.records else {
        return errors;
    };
    let RecordScope::Selected(given) = &given.records else {
        errors.push(FieldError::new(
            "scope.records",
            "\"all\" is more than was asked for",
        ));
        return errors;
    };
    for (i, kind) in given.kinds.iter().enumerate() {
        if !asked.kinds.contains(kind) {
            errors.push(FieldError::new(
                format!("scope.records.kinds[{i}]"),
                "was not asked for",
            ));
        }
    }
    for (i, code) in given.activity_codes.iter().enumerate() {
        if !asked.activity_codes.iter().any(|a| a.trim() == code.trim()) {
            errors.push(FieldError::new(
                format!("scope.records.activity_codes[{i}]"),
                "was not asked for",
            ));
        }
    }
    for (i, id) in given.record_ids.iter().enumerate() {
        let covered = chosen.iter().find(|r| r.id == *id).is_some_and(|record| {
            record.kind.is_some_and(|k| asked.kinds.contains(&k))
                || record
                    .activity_code
                    .as_ref()
                    .is_some_and(|code| asked.activity_codes.iter().any(|a| a.trim() == code))
        });
        // A record that is not the person's is reported by the grant's own check.
        if !covered && chosen.iter().any(|r| r.id == *id) {
            errors.push(FieldError::new(
                format!("scope.records.record_ids[{i}]"),
                "is not among the records asked for",
            ));
        }
    }
    errors
}
