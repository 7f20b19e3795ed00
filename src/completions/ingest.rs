//! A batch push: parse, check, and store each completion once.

use crate::db::ids::{GrantId, PersonId, RecordId};
use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::item::{Candidate, checked, content_of, parse_item};
use super::*;
use crate::access::{self, Access};
use crate::activities;
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::records::RecordRow;
use crate::records::issued::{self, Changed, IssuerChange, MAX_VERSIONS};
use crate::records::model::{Provenance, RecordContent};

/// Stores a batch of completions in one transaction and answers each item.
///
/// Set-based: whatever the batch size, one query each for the grants, the catalogue, the
/// existing records, the inserts and the access log; one update (and history row) per record
/// whose content changed.
pub fn push(
    conn: &mut DbConnection,
    issuer: &Issuer,
    items: Vec<serde_json::Map<String, serde_json::Value>>,
) -> Result<BatchResult, Error> {
    if items.len() > MAX_BATCH {
        return Err(Error::invalid(
            "completions",
            format!("at most {MAX_BATCH} completions in one push"),
        ));
    }
    transaction(conn, |conn| {
        let mut answers = Answers::new(items.len());
        let candidates = answers.parse(items);
        let people: Vec<PersonId> = candidates
            .iter()
            .map(|c| c.person_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let grants = crate::grants::store::writers_among(conn, issuer.organisation_id, &people)?;
        let plan = plan(conn, issuer, candidates, &grants, &people, &mut answers)?;
        let raced = insert(conn, plan.inserts, &mut answers)?;
        let mut changes = plan.changes;
        changes.extend(settle_races(conn, issuer, raced, &mut answers)?);
        apply(conn, issuer, changes, &mut answers)?;
        let events = people
            .iter()
            .map(|person| Access {
                person_id: *person,
                organisation_id: issuer.organisation_id,
                client_id: &issuer.client_id,
                grant_id: grants.get(person).copied(),
                action: "completions.push",
                resource: "records".into(),
                allowed: grants.contains_key(person),
                reason: (!grants.contains_key(person)).then(|| "no live write grant".to_owned()),
            })
            .collect();
        access::append_all(conn, events)?;
        Ok(answers.finish())
    })
}

/// The answer for each item of a batch, as each is settled.
struct Answers(Vec<Option<ItemResult>>);

impl Answers {
    fn new(items: usize) -> Self {
        Answers(vec![None; items])
    }

    fn set(&mut self, result: ItemResult) {
        let index = result.index;
        self.0[index] = Some(result);
    }

    fn reject(&mut self, index: usize, external_id: &str, reason: RejectReason, detail: &str) {
        self.set(ItemResult::rejected(
            index,
            Some(external_id),
            reason,
            detail,
        ));
    }

    fn done(&mut self, index: usize, external_id: &str, status: ItemStatus, record: RecordId) {
        self.set(ItemResult::done(index, external_id, status, record.0));
    }

    /// The items that parse, each external id once; the others are answered here.
    fn parse(&mut self, items: Vec<serde_json::Map<String, serde_json::Value>>) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        for (index, value) in items.into_iter().enumerate() {
            match parse_item(index, serde_json::Value::Object(value)) {
                Err(rejection) => self.set(rejection),
                Ok(candidate) if !seen.insert(candidate.external_id.clone()) => self.reject(
                    index,
                    &candidate.external_id,
                    RejectReason::DuplicateInBatch,
                    "this external id appears earlier in the batch",
                ),
                Ok(candidate) => candidates.push(candidate),
            }
        }
        candidates
    }

    fn finish(self) -> BatchResult {
        BatchResult {
            results: self
                .0
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.unwrap_or_else(|| {
                        ItemResult::rejected(i, None, RejectReason::Invalid, "not processed")
                    })
                })
                .collect(),
        }
    }
}

/// What a batch will write: new records, and existing ones whose content changes.
#[derive(Default)]
struct Plan {
    inserts: Vec<(usize, RecordRow)>,
    changes: Vec<(usize, RecordRow, RecordContent)>,
}

/// Decides each candidate against the grants, the catalogue, the issuer's existing records and
/// each passport's room; answers the ones settled without a write.
fn plan(
    conn: &mut DbConnection,
    issuer: &Issuer,
    candidates: Vec<Candidate>,
    grants: &HashMap<PersonId, GrantId>,
    people: &[PersonId],
    answers: &mut Answers,
) -> Result<Plan, Error> {
    let codes: Vec<String> = candidates
        .iter()
        .filter_map(|c| {
            c.input
                .activity_code
                .as_deref()
                .map(|s| s.trim().to_owned())
        })
        .collect();
    let catalogue = activities::lookup(conn, &codes)?;
    let name = crate::organisations::get(conn, issuer.organisation_id)?.name;
    let external_ids: Vec<String> = candidates.iter().map(|c| c.external_id.clone()).collect();
    let mut current = issued::by_external_ids(conn, issuer.organisation_id, &external_ids)?;
    let mut held = crate::records::store::counts(conn, people)?;
    let now = Utc::now();
    let mut plan = Plan::default();
    for Candidate {
        index,
        person_id,
        external_id,
        input,
    } in candidates
    {
        if !grants.contains_key(&person_id) {
            answers.reject(
                index,
                &external_id,
                RejectReason::NoWriteGrant,
                "no live write grant from this person to your organisation",
            );
            continue;
        }
        let content = content_of(&input, &catalogue, &name);
        if let Err(invalid) = checked(index, &external_id, &content, now) {
            answers.set(invalid);
            continue;
        }
        match current.remove(&external_id) {
            Some(row) => match against_stored(&row, person_id) {
                Some((reason, detail)) => answers.reject(index, &external_id, reason, detail),
                None if row.content() == content => {
                    answers.done(index, &external_id, ItemStatus::Unchanged, row.id)
                }
                None => plan.changes.push((index, row, content)),
            },
            None if held.get(&person_id).copied().unwrap_or(0)
                >= crate::records::store::MAX_PER_PERSON =>
            {
                answers.reject(
                    index,
                    &external_id,
                    RejectReason::PassportFull,
                    "the person's passport holds the most records it may",
                );
            }
            None => {
                *held.entry(person_id).or_default() += 1;
                let mut row = RecordRow::new(person_id, content, Provenance::Issued);
                row.issuer_organisation_id = Some(issuer.organisation_id);
                row.external_id = Some(external_id);
                plan.inserts.push((index, row));
            }
        }
    }
    Ok(plan)
}

/// Why a stored record under the same external id cannot take this completion, if it cannot.
fn against_stored(stored: &RecordRow, person_id: PersonId) -> Option<(RejectReason, &'static str)> {
    if stored.person_id != person_id {
        Some((
            RejectReason::ExternalIdTaken,
            "your organisation used this external id for another person",
        ))
    } else if stored.voided_at.is_some() {
        Some((
            RejectReason::Voided,
            "the record with this external id was voided",
        ))
    } else {
        None
    }
}

/// Inserts the new records; answers those another push stored first under the same ids.
fn insert(
    conn: &mut DbConnection,
    inserts: Vec<(usize, RecordRow)>,
    answers: &mut Answers,
) -> Result<Vec<(usize, RecordRow)>, Error> {
    let rows: Vec<RecordRow> = inserts.iter().map(|(_, r)| r.clone()).collect();
    let stored = issued::insert_new(conn, rows)?;
    let mut raced = Vec::new();
    for (index, row) in inserts {
        let external_id = row.external_id.clone().unwrap_or_default();
        if stored.contains(&external_id) {
            answers.done(index, &external_id, ItemStatus::Created, row.id);
        } else {
            raced.push((index, row));
        }
    }
    Ok(raced)
}

/// Another push stored the same external ids between our read and our insert: these are now
/// retries or updates of what it stored. Answers the ones that change it.
fn settle_races(
    conn: &mut DbConnection,
    issuer: &Issuer,
    raced: Vec<(usize, RecordRow)>,
    answers: &mut Answers,
) -> Result<Vec<(usize, RecordRow, RecordContent)>, Error> {
    if raced.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = raced
        .iter()
        .filter_map(|(_, r)| r.external_id.clone())
        .collect();
    let mut theirs = issued::by_external_ids(conn, issuer.organisation_id, &ids)?;
    let mut changes = Vec::new();
    for (index, row) in raced {
        let external_id = row.external_id.clone().unwrap_or_default();
        match theirs.remove(&external_id) {
            Some(stored) if stored.person_id != row.person_id => answers.reject(
                index,
                &external_id,
                RejectReason::ExternalIdTaken,
                "your organisation used this external id for another person",
            ),
            Some(stored) if stored.content() == row.content() => {
                answers.done(index, &external_id, ItemStatus::Unchanged, stored.id)
            }
            Some(stored) => changes.push((index, stored, row.content())),
            None => return Err(Error::Internal("a conflicting record vanished".into())),
        }
    }
    Ok(changes)
}

/// Writes each changed record, its earlier version kept.
fn apply(
    conn: &mut DbConnection,
    issuer: &Issuer,
    changes: Vec<(usize, RecordRow, RecordContent)>,
    answers: &mut Answers,
) -> Result<(), Error> {
    for (index, row, content) in changes {
        let external_id = row.external_id.clone().unwrap_or_default();
        let change = IssuerChange::Content {
            content,
            how: "updated",
        };
        match issued::change(conn, &row, change, issuer.organisation_id)? {
            Changed::Applied => answers.done(index, &external_id, ItemStatus::Updated, row.id),
            // Changed by a concurrent push since we read it: as that push left it.
            Changed::Raced => answers.done(index, &external_id, ItemStatus::Unchanged, row.id),
            Changed::TooManyVersions => answers.set(ItemResult::rejected(
                index,
                Some(&external_id),
                RejectReason::TooManyVersions,
                format!("the record has {MAX_VERSIONS} earlier versions, the most it may keep"),
            )),
        }
    }
    Ok(())
}
