//! Organisations sign attainments off; people see their progress through a framework.

use crate::db::ids::{AttainmentId, GrantId, OrganisationId, PersonId, VerificationId};
use std::collections::BTreeMap;

use diesel::prelude::*;

use super::store::{VerificationRow, filtered, verifications};
use super::*;
use crate::access::{self, Access};
use crate::db::types::Timestamp;
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks;
use crate::grants::Permission;

/// The verifying organisation.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub organisation_id: OrganisationId,
    pub client_id: String,
}

/// Signs an attainment off. Needs a live write grant from its person whose scope includes
/// attainments; without one the answer is the same as for an unknown attainment. Every attempt
/// about an existing attainment is logged for its person.
pub fn verify(
    conn: &mut DbConnection,
    verifier: &Verifier,
    id: AttainmentId,
    input: VerificationInput,
) -> Result<VerificationReceipt, Error> {
    let checked = Checked::of(input)?;
    transaction(conn, |conn| {
        let row = match authorised(conn, verifier, id)? {
            Ok(row) => row,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let framework = frameworks::get(conn, &row.framework_code, &row.framework_version)?;
        if !framework.has_level(checked.level) {
            return Err(Error::invalid(
                "level",
                format!(
                    "must be a level of the framework's scale (1 to {})",
                    framework.levels.len()
                ),
            ));
        }
        Ok(Ok(sign_off(conn, verifier, row, checked)?))
    })?
}

/// A verification as sent, trimmed and within its lengths.
struct Checked {
    name: String,
    role: String,
    level: i32,
    comment: Option<String>,
}

impl Checked {
    fn of(input: VerificationInput) -> Result<Self, Error> {
        let mut errors = Vec::new();
        // Lengths as sent, as the documented maxLength says.
        for (field, value) in [
            ("assessor_name", &input.assessor_name),
            ("assessor_role", &input.assessor_role),
        ] {
            if value.trim().is_empty() || value.chars().count() > 200 {
                errors.push(FieldError::new(field, "must be 1 to 200 characters"));
            }
        }
        if input
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > 5000)
        {
            errors.push(FieldError::new(
                "comment",
                "must be at most 5000 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Checked {
            name: input.assessor_name.trim().to_owned(),
            role: input.assessor_role.trim().to_owned(),
            level: input.level,
            comment: input
                .comment
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
        })
    }
}

/// The attainment, if the verifier holds a live write grant covering attainments from its
/// person; the attempt is logged for the person either way.
fn authorised(
    conn: &mut DbConnection,
    verifier: &Verifier,
    id: AttainmentId,
) -> Result<Result<AttainmentRow, Error>, Error> {
    let not_found =
        || Error::NotFound("no attainment under this id that your organisation may verify".into());
    let Some(row) = store::find(conn, id)? else {
        return Ok(Err(not_found()));
    };
    let grant: Option<GrantId> = crate::grants::live(
        conn,
        row.person_id,
        verifier.organisation_id,
        Permission::Write,
    )?
    .into_iter()
    .find(|grant| grant.scope().attainments)
    .map(|grant| grant.id);
    access::append(
        conn,
        Access {
            person_id: row.person_id,
            organisation_id: verifier.organisation_id,
            client_id: &verifier.client_id,
            grant_id: grant,
            action: "attainments.verify",
            resource: format!("attainments/{}", row.id),
            allowed: grant.is_some(),
            reason: grant
                .is_none()
                .then(|| "no live write grant covering attainments".to_owned()),
        },
    )?;
    Ok(if grant.is_some() {
        Ok(row)
    } else {
        Err(not_found())
    })
}

/// Stores the verification and marks the attainment verified; readers of attainments hear of
/// it. The person may have changed the attainment since it was read: the verification must
/// sign off what they claim now, so a race is refused (412) and can be retried.
fn sign_off(
    conn: &mut DbConnection,
    verifier: &Verifier,
    mut row: AttainmentRow,
    checked: Checked,
) -> Result<VerificationReceipt, Error> {
    let verification = VerificationRow {
        id: VerificationId::new(),
        attainment_id: row.id,
        organisation_id: verifier.organisation_id,
        assessor_name: checked.name,
        assessor_role: checked.role,
        level: checked.level,
        comment: checked.comment,
        verified_at: Timestamp::now(),
    };
    store::insert_verification(conn, &verification)?;
    row.status = AttainmentStatus::Verified.as_str().into();
    row.verification_id = Some(verification.id);
    let read_version = row.version;
    row.version += 1;
    row.updated_at = Timestamp::now();
    crate::http::etag::written(store::write_over(conn, &row, read_version)?)?;
    crate::outbox::record(
        conn,
        crate::outbox::Event::AttainmentVerified {
            person_id: row.person_id,
            attainment_id: row.id,
            verified_by: verifier.organisation_id,
        },
    )?;
    let organisation_name = crate::organisations::get(conn, verifier.organisation_id)?.name;
    Ok(VerificationReceipt {
        attainment_id: row.id.0,
        verification: Verification {
            organisation_id: verifier.organisation_id.0,
            organisation_name,
            assessor_name: verification.assessor_name,
            assessor_role: verification.assessor_role,
            level: verification.level,
            comment: verification.comment,
            verified_at: verification.verified_at.0,
        },
    })
}

/// A person's progress through a framework version: per domain, the outcomes attained, at
/// which levels, and how many verified.
pub fn progress(
    conn: &mut DbConnection,
    person_id: PersonId,
    code: &str,
    version: &str,
) -> Result<Progress, Error> {
    let framework = frameworks::get(conn, code, version)?;
    let rows: Vec<AttainmentRow> = filtered(
        person_id,
        &AttainmentFilter {
            framework: Some(code.into()),
            version: Some(version.into()),
            ..Default::default()
        },
    )
    .select(AttainmentRow::as_select())
    .load(conn)?;
    let ids: Vec<AttainmentId> = rows
        .iter()
        .filter(|r| r.is_verified())
        .map(|r| r.id)
        .collect();
    let verified = verifications(conn, &ids)?;
    let mut best: BTreeMap<&str, (i32, Option<i32>)> = BTreeMap::new();
    for row in &rows {
        let confirmed = row.verification_id.and_then(|v| {
            verified
                .get(&row.id)
                .and_then(|list| list.iter().find(|(id, _)| *id == v))
                .map(|(_, x)| x.level)
        });
        let entry = best.entry(row.outcome_code.as_str()).or_insert((0, None));
        entry.0 = entry.0.max(row.level);
        entry.1 = entry.1.max(confirmed);
    }
    let domains: Vec<DomainProgress> = framework
        .domains
        .iter()
        .map(|domain| {
            let items: Vec<OutcomeProgress> = domain
                .outcomes
                .iter()
                .map(|o| {
                    let (level, verified_level) = best
                        .get(o.code.as_str())
                        .copied()
                        .map(|(l, v)| (Some(l), v))
                        .unwrap_or((None, None));
                    OutcomeProgress {
                        outcome_code: o.code.clone(),
                        title: o.title.clone(),
                        level,
                        verified_level,
                    }
                })
                .collect();
            DomainProgress {
                code: domain.code.clone(),
                title: domain.title.clone(),
                outcomes: items.len(),
                attained: items.iter().filter(|i| i.level.is_some()).count(),
                verified: items.iter().filter(|i| i.verified_level.is_some()).count(),
                items,
            }
        })
        .collect();
    Ok(Progress {
        framework: FrameworkRef {
            code: framework.code.clone(),
            version: framework.version.clone(),
        },
        title: framework.title.clone(),
        outcomes: domains.iter().map(|d| d.outcomes).sum(),
        attained: domains.iter().map(|d| d.attained).sum(),
        verified: domains.iter().map(|d| d.verified).sum(),
        domains,
    })
}
