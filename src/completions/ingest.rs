//! A batch push: parse, check, and store each completion once.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::*;
use crate::access::{self, Access};
use crate::activities;
use crate::db::types::Id;
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::records::RecordRow;
use crate::records::issued::{self, Changed, IssuerChange, MAX_VERSIONS};
use crate::records::model::{Provenance, RecordContent, RecordKind};

/// A completion that parsed, before the database has its say.
struct Candidate {
    index: usize,
    person_id: Id,
    external_id: String,
    input: CompletionInput,
}

fn parse_item(index: usize, value: serde_json::Value) -> Result<Candidate, ItemResult> {
    let external_id = value
        .get("external_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let invalid = |errors: Vec<FieldError>| ItemResult {
        errors,
        ..ItemResult::rejected(
            index,
            external_id.as_deref(),
            RejectReason::Invalid,
            "the completion has invalid fields",
        )
    };
    let input: CompletionInput = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(name) => name.to_owned(),
            None if path == "." => "item".to_owned(),
            None => path,
        };
        invalid(vec![FieldError::new(
            format!("completions[{index}].{field}"),
            message,
        )])
    })?;
    let external_id = input.external_id.trim().to_owned();
    if external_id.is_empty() || external_id.chars().count() > 200 {
        return Err(invalid(vec![FieldError::new(
            format!("completions[{index}].external_id"),
            "must be 1 to 200 characters",
        )]));
    }
    Ok(Candidate {
        index,
        person_id: Id(input.person_id),
        external_id,
        input,
    })
}

/// The record content a completion stands for, with what the catalogue and the issuer supply.
fn content_of(
    input: &CompletionInput,
    catalogue: &HashMap<String, activities::ActivityRow>,
    issuer_name: &str,
) -> RecordContent {
    let code = input
        .activity_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let known = code.and_then(|c| catalogue.get(c));
    let completed_at = crate::db::types::Timestamp::from(input.completed_at).0;
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    RecordContent {
        kind: input
            .kind
            .or_else(|| known.and_then(|a| RecordKind::parse(&a.kind)))
            .unwrap_or(RecordKind::Course),
        title: text(&input.title)
            .or_else(|| known.map(|a| a.title.clone()))
            .unwrap_or_default(),
        activity_code: code.map(str::to_owned),
        provider_name: text(&input.provider_name).or_else(|| Some(issuer_name.to_owned())),
        started_at: input.started_at,
        completed_at: Some(completed_at),
        expires_at: input
            .expires_at
            .or_else(|| activities::expiry(completed_at, known.and_then(|a| a.refresher_months))),
        result: input.result,
        score: input.score,
        hours: input.hours,
        evidence: input
            .evidence
            .iter()
            .map(|e| crate::records::model::Evidence {
                url: e.url.trim().to_owned(),
                description: text(&e.description),
            })
            .collect(),
        notes: None,
    }
    .normalised()
}

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
        let mut results: Vec<Option<ItemResult>> = vec![None; items.len()];
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        for (index, value) in items.into_iter().enumerate() {
            match parse_item(index, serde_json::Value::Object(value)) {
                Err(rejection) => results[index] = Some(rejection),
                Ok(candidate) if !seen.insert(candidate.external_id.clone()) => {
                    results[index] = Some(ItemResult::rejected(
                        index,
                        Some(&candidate.external_id),
                        RejectReason::DuplicateInBatch,
                        "this external id appears earlier in the batch",
                    ));
                }
                Ok(candidate) => candidates.push(candidate),
            }
        }

        let people: Vec<Id> = candidates
            .iter()
            .map(|c| c.person_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let grants = crate::grants::store::writers_among(conn, issuer.organisation_id, &people)?;
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

        let mut held = crate::records::store::counts(conn, &people)?;
        let now = Utc::now();
        let mut inserts: Vec<(usize, RecordRow)> = Vec::new();
        let mut changed: Vec<(usize, RecordRow, RecordContent)> = Vec::new();
        for candidate in candidates {
            let Candidate {
                index,
                person_id,
                external_id,
                input,
            } = candidate;
            if !grants.contains_key(&person_id) {
                results[index] = Some(ItemResult::rejected(
                    index,
                    Some(&external_id),
                    RejectReason::NoWriteGrant,
                    "no live write grant from this person to your organisation",
                ));
                continue;
            }
            let content = content_of(&input, &catalogue, &name);
            let mut errors = content.validate(now).err().unwrap_or_default();
            if content.title.is_empty() {
                errors.retain(|e| e.field != "title");
                errors.push(FieldError::new(
                    "title",
                    "is required when the activity code is not in the catalogue",
                ));
            }
            if !errors.is_empty() {
                let errors = errors
                    .into_iter()
                    .map(|e| {
                        FieldError::new(format!("completions[{index}].{}", e.field), e.message)
                    })
                    .collect();
                results[index] = Some(ItemResult {
                    errors,
                    ..ItemResult::rejected(
                        index,
                        Some(&external_id),
                        RejectReason::Invalid,
                        "the completion has invalid fields",
                    )
                });
                continue;
            }
            match current.remove(&external_id) {
                Some(row) if row.person_id != person_id => {
                    results[index] = Some(ItemResult::rejected(
                        index,
                        Some(&external_id),
                        RejectReason::ExternalIdTaken,
                        "your organisation used this external id for another person",
                    ));
                }
                Some(row) if row.voided_at.is_some() => {
                    results[index] = Some(ItemResult::rejected(
                        index,
                        Some(&external_id),
                        RejectReason::Voided,
                        "the record with this external id was voided",
                    ));
                }
                Some(row) if row.content() == content => {
                    results[index] = Some(ItemResult::done(
                        index,
                        &external_id,
                        ItemStatus::Unchanged,
                        row.id.0,
                    ));
                }
                Some(row) => changed.push((index, row, content)),
                None if held.get(&person_id).copied().unwrap_or(0)
                    >= crate::records::store::MAX_PER_PERSON =>
                {
                    results[index] = Some(ItemResult::rejected(
                        index,
                        Some(&external_id),
                        RejectReason::PassportFull,
                        "the person's passport holds the most records it may",
                    ));
                }
                None => {
                    *held.entry(person_id).or_default() += 1;
                    let mut row = RecordRow::new(person_id, content, Provenance::Issued);
                    row.issuer_organisation_id = Some(issuer.organisation_id);
                    row.external_id = Some(external_id);
                    inserts.push((index, row));
                }
            }
        }

        let rows: Vec<RecordRow> = inserts.iter().map(|(_, r)| r.clone()).collect();
        let stored = issued::insert_new(conn, &rows)?;
        let mut raced = Vec::new();
        for (index, row) in inserts {
            let external_id = row.external_id.clone().unwrap_or_default();
            if stored.contains(&external_id) {
                results[index] = Some(ItemResult::done(
                    index,
                    &external_id,
                    ItemStatus::Created,
                    row.id.0,
                ));
            } else {
                raced.push((index, row));
            }
        }
        // Another push stored the same external ids between our read and our insert: these are
        // now retries or updates of what it stored.
        if !raced.is_empty() {
            let ids: Vec<String> = raced
                .iter()
                .filter_map(|(_, r)| r.external_id.clone())
                .collect();
            let mut theirs = issued::by_external_ids(conn, issuer.organisation_id, &ids)?;
            for (index, row) in raced {
                let external_id = row.external_id.clone().unwrap_or_default();
                match theirs.remove(&external_id) {
                    Some(stored) if stored.person_id != row.person_id => {
                        results[index] = Some(ItemResult::rejected(
                            index,
                            Some(&external_id),
                            RejectReason::ExternalIdTaken,
                            "your organisation used this external id for another person",
                        ));
                    }
                    Some(stored) if stored.content() == row.content() => {
                        results[index] = Some(ItemResult::done(
                            index,
                            &external_id,
                            ItemStatus::Unchanged,
                            stored.id.0,
                        ));
                    }
                    Some(stored) => changed.push((index, stored, row.content())),
                    None => return Err(Error::Internal("a conflicting record vanished".into())),
                }
            }
        }
        for (index, row, content) in changed {
            let external_id = row.external_id.clone().unwrap_or_default();
            results[index] = Some(
                match issued::change(
                    conn,
                    &row,
                    IssuerChange::Content {
                        content,
                        how: "updated",
                    },
                    issuer.organisation_id,
                )? {
                    Changed::Applied => {
                        ItemResult::done(index, &external_id, ItemStatus::Updated, row.id.0)
                    }
                    // Changed by a concurrent push since we read it: as that push left it.
                    Changed::Raced => {
                        ItemResult::done(index, &external_id, ItemStatus::Unchanged, row.id.0)
                    }
                    Changed::TooManyVersions => ItemResult::rejected(
                        index,
                        Some(&external_id),
                        RejectReason::TooManyVersions,
                        format!(
                            "the record has {MAX_VERSIONS} earlier versions, the most it may keep"
                        ),
                    ),
                },
            );
        }

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
        Ok(BatchResult {
            results: results
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.unwrap_or_else(|| {
                        ItemResult::rejected(i, None, RejectReason::Invalid, "not processed")
                    })
                })
                .collect(),
        })
    })
}
