//! Storing a POST's statements on PostgreSQL in one round trip: the statements, the index rows
//! of those that are new, and a read of the activity definitions they give, as one statement.
//!
//! A single-statement POST from a course player is the LRS's commonest write, and on this path
//! its cost is round trips, not work: three statements, each waiting for the database, become
//! one. Batches that void or reference statements take [`super::write::insert`]'s general path,
//! which needs what the batch's targets hold before writing their index rows.

use std::collections::{HashMap, HashSet};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Bool, Nullable, Text};
use diesel::{PgConnection, QueryResult};

use crate::db::ids::{OrganisationId, StatementId};
use crate::db::types::Timestamp;
use crate::db::types::sql::{UtcTimestamp, Uuid as SqlUuid};
use crate::error::Error;
use crate::xapi::statements::Prepared;

/// What one round trip stored and read.
pub(super) struct Stored {
    /// The statements that were new, in the order they were given.
    pub fresh: Vec<Prepared>,
    /// Those whose ids the LRS held already: each must be the statement it holds.
    pub held: Vec<Prepared>,
    /// The stored definitions of the activities the statements name, by activity id.
    pub definitions: HashMap<String, String>,
}

/// Whether these statements can be stored in one round trip: none voids or references
/// another (see the module's note).
pub(super) fn fits(prepared: &[Prepared]) -> bool {
    prepared
        .iter()
        .all(|p| p.voids.is_none() && p.targets.is_none())
}

/// Stores the statements that are new with their index rows, and reads the definitions they
/// name, in one statement. Runs inside the caller's transaction.
pub(super) fn store(
    conn: &mut PgConnection,
    organisation_id: OrganisationId,
    prepared: Vec<Prepared>,
) -> Result<Stored, Error> {
    let count = prepared.len();
    let mut query = StoreQuery {
        organisation_id,
        ids: Vec::with_capacity(count),
        stored: Vec::with_capacity(count),
        texts: Vec::with_capacity(count),
        attached: Vec::with_capacity(count),
        index_ids: Vec::new(),
        kinds: Vec::new(),
        values: Vec::new(),
        related: Vec::new(),
        activities: Vec::new(),
    };
    for p in &prepared {
        query.ids.push(StatementId(p.id));
        query.stored.push(Timestamp::from(p.stored));
        query.texts.push(p.statement.to_string());
        query.attached.push(!p.attachments.is_empty());
        for entry in &p.index {
            query.index_ids.push(StatementId(p.id));
            query.kinds.push(entry.kind.as_str());
            query.values.push(entry.value.clone());
            query.related.push(entry.related);
        }
        query
            .activities
            .extend(p.definitions.iter().map(|(id, _)| id.clone()));
    }
    query.activities.sort_unstable();
    query.activities.dedup();
    let answers: Vec<Answer> = query.load(conn)?;

    let mut inserted = HashSet::with_capacity(count);
    let mut definitions = HashMap::new();
    for answer in answers {
        match (answer.fresh, answer.definition) {
            (true, _) => {
                let id = answer.key.parse::<uuid::Uuid>().map_err(|e| {
                    Error::Internal(format!("a stored statement's id did not parse: {e}"))
                })?;
                inserted.insert(id);
            }
            (false, Some(definition)) => {
                definitions.insert(answer.key, definition);
            }
            (false, None) => {}
        }
    }
    let (fresh, held) = prepared.into_iter().partition(|p| inserted.contains(&p.id));
    Ok(Stored {
        fresh,
        held,
        definitions,
    })
}

/// The statements (in id order, as every writer inserts them, so that two requests sending the
/// same ids never wait for each other in a cycle) are inserted where new; the index rows of
/// exactly those that were inserted follow; and the stored definitions of the activities named
/// are read in the same snapshot. Rows answer either a new statement's id or a definition.
///
/// That snapshot is the statement's start: a definition another request changes meanwhile is
/// not seen. Merging is optimistic for that reason ([`super::activities`]): a definition is
/// written only over the text it was merged with, and merged again otherwise.
///
/// A query type of its own rather than `diesel::sql_query`, whose statements diesel never
/// keeps prepared: this one is prepared once per connection.
struct StoreQuery {
    organisation_id: OrganisationId,
    ids: Vec<StatementId>,
    stored: Vec<Timestamp>,
    texts: Vec<String>,
    attached: Vec<bool>,
    index_ids: Vec<StatementId>,
    kinds: Vec<&'static str>,
    values: Vec<String>,
    related: Vec<bool>,
    activities: Vec<String>,
}

impl QueryFragment<Pg> for StoreQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH inserted AS (INSERT INTO xapi_statements \
             (organisation_id, statement_id, stored, voided, voids, statement, has_attachments) \
             SELECT ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.organisation_id)?;
        out.push_sql(
            ", s.statement_id, s.stored, false, NULL, s.statement, s.has_attachments FROM unnest(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<UtcTimestamp>, _>(&self.stored)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.texts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.attached)?;
        out.push_sql(
            ") AS s (statement_id, stored, statement, has_attachments) \
             ORDER BY s.statement_id ON CONFLICT (organisation_id, statement_id) DO NOTHING \
             RETURNING statement_id), \
             indexed AS (INSERT INTO xapi_statement_index \
             (organisation_id, statement_id, kind, value, related) SELECT ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.organisation_id)?;
        out.push_sql(", i.statement_id, i.kind, i.value, i.related FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.index_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.values)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.related)?;
        out.push_sql(
            ") AS i (statement_id, kind, value, related) \
             WHERE i.statement_id IN (SELECT statement_id FROM inserted)) \
             SELECT true AS fresh, statement_id::text AS key, NULL::text AS definition \
             FROM inserted UNION ALL \
             SELECT false, activity_id, definition FROM xapi_activities WHERE organisation_id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.organisation_id)?;
        out.push_sql(" AND activity_id = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.activities)?;
        out.push_sql(")");
        Ok(())
    }
}

crate::prepared_pg_query!(StoreQuery);

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Bool)]
    fresh: bool,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Nullable<Text>)]
    definition: Option<String>,
}
