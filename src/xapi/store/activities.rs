//! Activity definitions as the Activities resource answers them: each activity's definitions,
//! from every statement the organisation stored, merged (see [`crate::xapi::definitions`]).
//!
//! Many requests describe the same activity at once (every learner of a course), and none may
//! lose what another added. A definition is written only where the merge changes it, and only
//! over the very text it was merged with; when another request changed it in between, the
//! merge is made again with what that request wrote. Nothing is locked for the common case of
//! a definition sent again unchanged.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde_json::Value;

use super::{ActivityRow, CHUNK};
use crate::db::DbConnection;
use crate::db::ids::OrganisationId;
use crate::db::schema::xapi_activities;
use crate::error::Error;
use crate::xapi::definitions;
use crate::xapi::statements::Prepared;

/// Attempts at most, each after another request changed a definition this one was merging
/// into: far more than any real contention needs.
const ROUNDS: usize = 8;

/// Merges the definitions the statements give into the activities' stored ones. Runs inside the
/// caller's transaction. `read` holds the stored definitions when the caller has read them
/// already (every activity the statements name that is stored), in this transaction.
pub(super) fn save_definitions(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    fresh: &[Prepared],
    mut read: Option<HashMap<String, String>>,
) -> Result<(), Error> {
    // Activities in key order: requests write the same activities in one order, and so never
    // wait for each other in a cycle.
    let mut pending: BTreeMap<&str, Value> = BTreeMap::new();
    for (id, definition) in fresh.iter().flat_map(|p| p.definitions.iter()) {
        match pending.get_mut(id.as_str()) {
            Some(seen) => *seen = definitions::merge(seen, definition),
            None => {
                pending.insert(id, definition.clone());
            }
        }
    }
    for _ in 0..ROUNDS {
        if pending.is_empty() {
            return Ok(());
        }
        settle(conn, organisation_id, &mut pending, read.take())?;
    }
    Err(Error::Unavailable(
        "the activities' definitions kept changing while this request stored them: send it again"
            .into(),
    ))
}

/// One round: activities not held yet are inserted, held ones get the merged definition where
/// it changes. Those another request inserted or changed meanwhile stay pending. The stored
/// definitions are read first, unless `read` holds them.
fn settle(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    pending: &mut BTreeMap<&str, Value>,
    read: Option<HashMap<String, String>>,
) -> Result<(), Error> {
    let ids: Vec<&str> = pending.keys().copied().collect();
    let held = match read {
        Some(held) => held,
        None => {
            let mut held = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                held.extend(
                    xapi_activities::table
                        .filter(xapi_activities::organisation_id.eq(organisation_id))
                        .filter(xapi_activities::activity_id.eq_any(chunk))
                        .select((xapi_activities::activity_id, xapi_activities::definition))
                        .load::<(String, String)>(conn)?,
                );
            }
            held
        }
    };

    let new: Vec<ActivityRow> = pending
        .iter()
        .filter(|(id, _)| !held.contains_key(**id))
        .map(|(id, definition)| ActivityRow {
            organisation_id,
            activity_id: (*id).to_owned(),
            definition: definition.to_string(),
        })
        .collect();
    for chunk in new.chunks(CHUNK) {
        let added: Vec<String> = crate::insert_new!(
            conn,
            xapi_activities::table,
            chunk,
            xapi_activities::activity_id
        )?;
        for id in added {
            pending.remove(id.as_str());
        }
    }

    for id in ids {
        let (Some(text), Some(newer)) = (held.get(id), pending.get(id)) else {
            continue;
        };
        let kept: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let merged = definitions::merge(&kept, newer);
        // Platforms send the same definitions with every statement: usually nothing to write.
        let written = merged == kept
            || diesel::update(
                xapi_activities::table
                    .filter(xapi_activities::organisation_id.eq(organisation_id))
                    .filter(xapi_activities::activity_id.eq(id))
                    .filter(xapi_activities::definition.eq(text)),
            )
            .set(xapi_activities::definition.eq(merged.to_string()))
            .execute(conn)?
                == 1;
        if written {
            pending.remove(id);
        }
    }
    Ok(())
}
