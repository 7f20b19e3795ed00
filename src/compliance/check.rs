//! Checking people against a profile: one person, or the organisation's worklist.

use crate::db::ids::{OrganisationId, PersonId, ProfileId};
use std::collections::HashMap;

use chrono::Utc;

use super::evaluate::{self, AttainmentFact, Shared};
use crate::access::{self, Access};
use crate::auth::Scope;
use crate::auth::tokens::ClientIdentity;
use crate::db::DbConnection;
use crate::error::Error;
use crate::grants::{self, GrantRow, Permission, RecordScope};
use crate::http::pagination::{List, Page};
use crate::records::RecordRow;
use crate::records::SharedScope;
use crate::sharing::{Request, on_behalf, union};

use super::*;

fn window(days: Option<i64>) -> Result<i64, Error> {
    let days = days.unwrap_or(DEFAULT_WINDOW_DAYS);
    if !(0..=3650).contains(&days) {
        return Err(Error::invalid("expiring_within_days", "must be 0 to 3650"));
    }
    Ok(days)
}

/// What a profile looks at: activity codes, record kinds, outcomes.
struct Needs {
    codes: Vec<String>,
    kinds: Vec<String>,
    outcomes: Vec<String>,
}

fn needs(requirements: &[Requirement]) -> Needs {
    let mut needs = Needs {
        codes: vec![],
        kinds: vec![],
        outcomes: vec![],
    };
    for requirement in requirements {
        match requirement {
            Requirement::Activity { activity_codes, .. } => {
                needs.codes.extend(activity_codes.iter().cloned())
            }
            Requirement::Hours { kind, .. } => needs.kinds.push(kind.as_str().to_owned()),
            Requirement::Outcome { outcome_code, .. } => needs.outcomes.push(outcome_code.clone()),
        }
    }
    needs
}

/// What some people hold that a profile looks at.
struct Gathered {
    records: Vec<RecordRow>,
    /// Attainments, with their person.
    facts: Vec<(PersonId, AttainmentFact)>,
}

/// The evidence a profile needs for some people, in two queries whatever their number: the
/// relevant visible records, and the relevant attainments with their verifications.
fn gather(conn: &mut DbConnection, people: &[PersonId], needs: &Needs) -> Result<Gathered, Error> {
    let records =
        crate::records::shared::visible_matching(conn, people, &needs.kinds, &needs.codes)?;
    let facts = if needs.outcomes.is_empty() {
        vec![]
    } else {
        crate::attainments::store::claims(conn, people, &needs.outcomes)?
            .into_iter()
            .map(|claim| {
                let fact = AttainmentFact {
                    id: claim.id,
                    framework_code: claim.framework_code,
                    framework_version: claim.framework_version,
                    outcome_code: claim.outcome_code,
                    level: claim.level,
                    verified_level: claim.verified_level,
                };
                (claim.person_id, fact)
            })
            .collect()
    };
    Ok(Gathered { records, facts })
}

/// The catalogue kind of each activity code the profile names, read only when one of the
/// grants selects records by kind: nothing else asks for it (a grant of all records covers
/// every activity, and one of activity codes names them).
fn catalogue_kinds(
    conn: &mut DbConnection,
    needs: &Needs,
    grants: &[GrantRow],
) -> Result<HashMap<String, String>, Error> {
    let by_kind = grants.iter().any(|grant| {
        matches!(grant.scope().records, RecordScope::Selected(selection) if !selection.kinds.is_empty())
    });
    if !by_kind {
        return Ok(HashMap::new());
    }
    crate::activities::kinds(conn, &needs.codes)
}

/// A profile, ready to judge people against.
struct Judge<'a> {
    profile: &'a RequirementProfile,
    kinds: &'a HashMap<String, String>,
    window_days: i64,
}

impl Judge<'_> {
    fn judge(
        &self,
        person_id: PersonId,
        name: Option<String>,
        grants: &[GrantRow],
        records: &[RecordRow],
        facts: &[AttainmentFact],
    ) -> Compliance {
        let scope: SharedScope = union(grants);
        let visible: Vec<RecordRow> = records
            .iter()
            .filter(|r| r.person_id == person_id && scope.covers(r))
            .cloned()
            .collect();
        let attainments_shared = grants.iter().any(|g| g.scope().attainments);
        let shared_facts: &[AttainmentFact] = if attainments_shared { facts } else { &[] };
        let now = Utc::now();
        let (status, requirements) = evaluate::evaluate(
            &self.profile.requirements,
            &Shared {
                records: &visible,
                attainments: shared_facts,
                attainments_shared,
                scope: &scope,
                catalogue_kinds: self.kinds,
            },
            now,
            self.window_days,
        );
        Compliance {
            person_id: person_id.0,
            person_display_name: name,
            profile_id: self.profile.id,
            status,
            requirements,
            checked_at: now,
        }
    }
}

/// Checks one person's shared passport against a profile of the caller's organisation. Needs a
/// live read grant; the check is written to the person's access log.
pub fn check(
    conn: &mut DbConnection,
    caller: &ClientIdentity,
    person_id: PersonId,
    profile_id: ProfileId,
    window_days: Option<i64>,
) -> Result<Compliance, Error> {
    let window_days = window(window_days)?;
    let profile = get(conn, OrganisationId(caller.organisation_id), profile_id)?;
    let request = Request {
        caller,
        person_id,
        action: "compliance.check",
        resource: format!("compliance/{profile_id}"),
        attainments: false,
    };
    on_behalf(conn, request, |conn, grants| {
        let needs = needs(&profile.requirements);
        let Gathered { records, facts } = gather(conn, &[person_id], &needs)?;
        let kinds = catalogue_kinds(conn, &needs, grants)?;
        let facts: Vec<AttainmentFact> = facts.into_iter().map(|(_, f)| f).collect();
        let judge = Judge {
            profile: &profile,
            kinds: &kinds,
            window_days,
        };
        let name = crate::people::get(conn, person_id)?.display_name;
        Ok(Ok(judge.judge(person_id, name, grants, &records, &facts)))
    })
}

/// The organisation's worklist: every person with a live read grant to it, checked against a
/// profile, by person id. A fixed number of queries per page, whatever its size: the people,
/// their grants, their records, their attainments with their verifications, their names, and
/// the catalogue kinds when a grant selects records by kind, in one read transaction; then one
/// insert into the access log.
pub fn worklist(
    conn: &mut DbConnection,
    caller: &ClientIdentity,
    query: &WorklistQuery,
    page: Page<PersonId>,
) -> Result<List<Compliance>, Error> {
    if !caller.scopes.contains(Scope::SharedRead) {
        return Err(Error::Forbidden(
            "this needs the `shared:read` scope".into(),
        ));
    }
    let window_days = window(query.expiring_within_days)?;
    let organisation = OrganisationId(caller.organisation_id);
    let profile = get(conn, organisation, ProfileId(query.profile))?;
    let (list, events) = crate::db::read_transaction(conn, |conn| {
        let ids = grants::store::people_granting(conn, organisation, Permission::Read, page)?;
        let person_ids = ids.items.clone();
        let live = grants::store::live_among(conn, organisation, &person_ids, Permission::Read)?;
        let needs = needs(&profile.requirements);
        let Gathered { records, facts } = gather(conn, &person_ids, &needs)?;
        let kinds = catalogue_kinds(conn, &needs, &live)?;
        let judge = Judge {
            profile: &profile,
            kinds: &kinds,
            window_days,
        };
        let names = crate::people::store::display_names(conn, &person_ids)?;
        let mut by_person: HashMap<PersonId, Vec<GrantRow>> = HashMap::new();
        for grant in live {
            by_person.entry(grant.person_id).or_default().push(grant);
        }
        let mut facts_by_person: HashMap<PersonId, Vec<AttainmentFact>> = HashMap::new();
        for (person, fact) in facts {
            facts_by_person.entry(person).or_default().push(fact);
        }
        let mut events = Vec::new();
        let mut items = Vec::new();
        for person in &person_ids {
            let grants = by_person.remove(person).unwrap_or_default();
            let facts = facts_by_person.remove(person).unwrap_or_default();
            let compliance = judge.judge(
                *person,
                names.get(person).cloned().flatten(),
                &grants,
                &records,
                &facts,
            );
            events.push(Access {
                person_id: *person,
                organisation_id: organisation,
                client_id: &caller.client_id,
                grant_id: grants.first().map(|g| g.id),
                action: "compliance.worklist",
                resource: format!("compliance/{}", profile.id),
                allowed: true,
                reason: None,
            });
            if query.status.is_none_or(|s| s == compliance.status) {
                items.push(compliance);
            }
        }
        let list = List {
            items,
            next_cursor: ids.next_cursor,
        };
        Ok((list, events))
    })?;
    access::append_all(conn, events)?;
    Ok(list)
}
