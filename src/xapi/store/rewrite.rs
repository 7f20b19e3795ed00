//! Statements stored before the LRS normalised them, rewritten once into the form it stores
//! now (see [`crate::xapi::normalise`] and the migration `xapi_context_activities`).
//!
//! The rewrite is done here rather than in the migration's SQL: the statement is text (so that
//! `format=exact` answers it as stored), and PostgreSQL can only change JSON inside it through
//! `jsonb`, which would reorder and re-space every statement it touched. Parsed and written
//! back by the code that wrote it, a rewritten statement is exactly what storing it now gives.

use diesel::prelude::*;
use serde_json::Value;

use crate::db::ids::{OrganisationId, StatementId};
use crate::db::schema::{data_migrations, xapi_statements};
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::xapi::normalise;

/// The job the migration left (its row in `data_migrations`).
const JOB: &str = "xapi_context_activities_as_arrays";

/// Statements read and rewritten per transaction: short transactions, since on SQLite each one
/// holds the only write lock.
const PAGE: i64 = 500;

/// Does what the migrations left for the service to do, if anything: rewrites, page by page,
/// the statements stored with a single Activity object as a `contextActivities` value, then
/// marks the job done. Runs as the service starts, after the migrations.
///
/// Repeatable, so that two instances starting together, or a restart after a crash halfway,
/// do no harm: a statement already in the stored form is left alone, and a rewrite replaces
/// only the very text it was made from.
pub fn finish_migrations(conn: &mut DbConnection) -> Result<(), Error> {
    let pending: i64 = data_migrations::table.find(JOB).count().get_result(conn)?;
    if pending == 0 {
        return Ok(());
    }
    let mut after: Option<(OrganisationId, StatementId)> = None;
    let mut rewritten = 0;
    loop {
        let rows = page(conn, after)?;
        let Some((organisation_id, statement_id, _)) = rows.last() else {
            break;
        };
        after = Some((*organisation_id, *statement_id));
        rewritten += transaction(conn, |conn| rewrite(conn, &rows))?;
    }
    diesel::delete(data_migrations::table.find(JOB)).execute(conn)?;
    if rewritten > 0 {
        tracing::info!(
            rewritten,
            "xAPI statements rewritten with contextActivities as arrays"
        );
    }
    Ok(())
}

/// The next statements that mention contextActivities, in key order after `after`.
fn page(
    conn: &mut DbConnection,
    after: Option<(OrganisationId, StatementId)>,
) -> Result<Vec<(OrganisationId, StatementId, String)>, Error> {
    use xapi_statements::dsl as st;
    let mut query = st::xapi_statements
        // The key as serde_json writes it: a cheap filter before any JSON is parsed.
        .filter(st::statement.like("%\"contextActivities\"%"))
        .select((st::organisation_id, st::statement_id, st::statement))
        .order((st::organisation_id, st::statement_id))
        .limit(PAGE)
        .into_boxed();
    if let Some((organisation_id, statement_id)) = after {
        query = query.filter(
            st::organisation_id
                .gt(organisation_id)
                .or(st::organisation_id
                    .eq(organisation_id)
                    .and(st::statement_id.gt(statement_id))),
        );
    }
    Ok(query.load(conn)?)
}

/// Rewrites those of `rows` not in the stored form yet; answers how many it rewrote.
fn rewrite(
    conn: &mut DbConnection,
    rows: &[(OrganisationId, StatementId, String)],
) -> Result<usize, Error> {
    use xapi_statements::dsl as st;
    let mut rewritten = 0;
    for (organisation_id, statement_id, text) in rows {
        let Ok(mut statement) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if !normalise::context_activities(&mut statement) {
            continue;
        }
        rewritten += diesel::update(
            st::xapi_statements
                .filter(st::organisation_id.eq(organisation_id))
                .filter(st::statement_id.eq(statement_id))
                .filter(st::statement.eq(text)),
        )
        .set(st::statement.eq(statement.to_string()))
        .execute(conn)?;
    }
    Ok(rewritten)
}
