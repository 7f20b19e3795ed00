//! Reading statements back: one by id, a query measured before it is read, attachments, activity
//! definitions.

use crate::db::ids::{OrganisationId, StatementId};
use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::Value;

use super::{CHUNK, STORED, StoredStatement, byte_length, octet_length};
use crate::db::DbConnection;
use crate::db::schema::{xapi_activities, xapi_attachments, xapi_statement_index, xapi_statements};
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::xapi::statements::IndexKind;

/// The size and media type of attachments held under these SHA-2s (lowercase), without
/// reading their content.
pub fn attachment_sizes(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    hashes: &[String],
) -> Result<HashMap<String, (String, i64)>, Error> {
    let mut sizes = HashMap::new();
    for chunk in hashes.chunks(CHUNK) {
        let rows: Vec<(String, String, i32)> = xapi_attachments::table
            .filter(xapi_attachments::organisation_id.eq(organisation_id))
            .filter(xapi_attachments::sha2.eq_any(chunk))
            .select((
                xapi_attachments::sha2,
                xapi_attachments::content_type,
                byte_length(xapi_attachments::content),
            ))
            .load(conn)?;
        sizes.extend(
            rows.into_iter()
                .map(|(sha2, content_type, length)| (sha2, (content_type, i64::from(length)))),
        );
    }
    Ok(sizes)
}

/// One statement by id: `voided` picks a voided statement (`voidedStatementId`), otherwise only
/// one that is not voided (`statementId`).
pub fn get(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    statement_id: StatementId,
    voided: bool,
) -> Result<Option<StoredStatement>, Error> {
    Ok(xapi_statements::table
        .filter(xapi_statements::organisation_id.eq(organisation_id))
        .filter(xapi_statements::statement_id.eq(statement_id))
        .filter(xapi_statements::voided.eq(voided))
        .select(STORED)
        .first(conn)
        .optional()?)
}

/// A statement query's filters, as the query parameters give them.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub agent: Option<String>,
    pub related_agents: bool,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub related_activities: bool,
    pub registration: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub ascending: bool,
    /// Continue after this statement (the `more` link's position).
    pub after: Option<(Timestamp, StatementId)>,
}

/// Statements matching the filters, in stored order. Voided statements are never listed.
pub(super) fn filtered<'a>(
    organisation_id: OrganisationId,
    filters: &'a Filters,
) -> xapi_statements::BoxedQuery<'a, crate::db::MultiBackend> {
    use xapi_statement_index as ix;
    use xapi_statements as st;
    let mut query = st::table
        .filter(st::organisation_id.eq(organisation_id))
        .filter(st::voided.eq(false))
        .into_boxed();
    // One subselect per filter; `related` rows count only for the broad forms.
    macro_rules! matching {
        ($kind:expr, $value:expr, $broad:expr) => {
            st::statement_id.eq_any(
                ix::table
                    .filter(ix::organisation_id.eq(organisation_id))
                    .filter(ix::kind.eq($kind.as_str()))
                    .filter(ix::value.eq($value))
                    .filter(ix::related.eq(false).or(ix::related.eq($broad)))
                    .select(ix::statement_id),
            )
        };
    }
    if let Some(agent) = &filters.agent {
        query = query.filter(matching!(IndexKind::Agent, agent, filters.related_agents));
    }
    if let Some(activity) = &filters.activity {
        query = query.filter(matching!(
            IndexKind::Activity,
            activity,
            filters.related_activities
        ));
    }
    if let Some(verb) = &filters.verb {
        query = query.filter(matching!(IndexKind::Verb, verb, false));
    }
    if let Some(registration) = &filters.registration {
        let registration = registration.to_ascii_lowercase();
        query = query.filter(matching!(IndexKind::Registration, registration, false));
    }
    if let Some(since) = filters.since {
        query = query.filter(st::stored.gt(since));
    }
    if let Some(until) = filters.until {
        query = query.filter(st::stored.le(until));
    }
    if let Some((stored, id)) = filters.after {
        query = if filters.ascending {
            query.filter(
                st::stored
                    .gt(stored)
                    .or(st::stored.eq(stored).and(st::statement_id.gt(id))),
            )
        } else {
            query.filter(
                st::stored
                    .lt(stored)
                    .or(st::stored.eq(stored).and(st::statement_id.lt(id))),
            )
        };
    }
    if filters.ascending {
        query.order((st::stored.asc(), st::statement_id.asc()))
    } else {
        query.order((st::stored.desc(), st::statement_id.desc()))
    }
}

/// A statement a query matched, measured but not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Measured {
    pub statement_id: StatementId,
    pub stored: Timestamp,
    /// The bytes of its JSON text as stored.
    pub bytes: i32,
    pub has_attachments: bool,
}

/// The statements matching the filters, in stored order, at most `limit`, with the size of
/// each: a page is cut to its byte budget before any statement is read.
pub fn measure(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    filters: &Filters,
    limit: i64,
) -> Result<Vec<Measured>, Error> {
    use xapi_statements as st;
    Ok(filtered(organisation_id, filters)
        .select((
            st::statement_id,
            st::stored,
            octet_length(st::statement),
            st::has_attachments,
        ))
        .limit(limit)
        .load(conn)?)
}

/// Statements by id (any order; those no longer held are missing).
pub fn read(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    ids: &[StatementId],
) -> Result<Vec<StoredStatement>, Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        found.extend(
            xapi_statements::table
                .filter(xapi_statements::organisation_id.eq(organisation_id))
                .filter(xapi_statements::statement_id.eq_any(chunk))
                .select(STORED)
                .load::<StoredStatement>(conn)?,
        );
    }
    Ok(found)
}

/// Stored attachment content by SHA-2.
pub fn attachments(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    hashes: &[String],
) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
    Ok(xapi_attachments::table
        .filter(xapi_attachments::organisation_id.eq(organisation_id))
        .filter(xapi_attachments::sha2.eq_any(hashes))
        .select((
            xapi_attachments::sha2,
            xapi_attachments::content_type,
            xapi_attachments::content,
        ))
        .load(conn)?)
}

/// The definition of an activity, merged from every statement that gave one, if any did.
pub fn definition(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    activity_id: &str,
) -> Result<Option<Value>, Error> {
    let text: Option<String> = xapi_activities::table
        .filter(xapi_activities::organisation_id.eq(organisation_id))
        .filter(xapi_activities::activity_id.eq(activity_id))
        .select(xapi_activities::definition)
        .first(conn)
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}
