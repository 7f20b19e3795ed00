//! The `access_events` table: appending accesses (allowed ones before the answer leaves, refused
//! ones off the answer's path) and reading a person's log.

use crate::db::ids::{AccessEventId, GrantId, OrganisationId, PersonId};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Bool, Nullable, Text};

use super::{Access, AccessEvent, AccessFilter};
use crate::db::DbConnection;
use crate::db::group_commit::{Job, Writes};
use crate::db::schema::{access_events, organisations};
use crate::db::types::Timestamp;
use crate::db::types::sql::{UtcTimestamp, Uuid as SqlUuid};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_events)]
// An empty field is written as NULL, not DEFAULT, so that the insert is one statement whose
// prepared form each connection keeps (diesel never caches an insert that may say DEFAULT).
#[diesel(treat_none_as_default_value = false)]
struct AccessEventRow {
    id: AccessEventId,
    /// Empty once the person has erased their passport.
    person_id: Option<PersonId>,
    organisation_id: OrganisationId,
    client_id: String,
    grant_id: Option<GrantId>,
    action: String,
    resource: String,
    allowed: bool,
    reason: Option<String>,
    created_at: Timestamp,
}

/// Appends an access. An allowed one is committed before the answer leaves: in the transaction
/// of the write it records, or, after a read, in a group commit that the answer waits
/// for (see [`crate::db::group_commit`]). A refused one goes to [`refused`].
pub fn append(conn: &mut DbConnection, access: Access<'_>) -> Result<(), Error> {
    if !access.allowed {
        refused(access);
        return Ok(());
    }
    let row = AccessEventRow::from(access);
    crate::db::group_commit::before_answer(conn, Job::rows(vec![row], &ALLOWED))
}

/// Events in one PostgreSQL insert, at most, so that one statement's arrays stay a few hundred
/// kilobytes however large the group (a worklist page adds 200 events; a group can hold many).
const EVENTS_PER_STATEMENT: usize = 5000;

/// How allowed accesses are written by a group commit.
static ALLOWED: Writes<AccessEventRow> = Writes {
    write: write_allowed,
    per_statement: |conn| match conn {
        DbConnection::Postgres(_) => EVENTS_PER_STATEMENT,
        DbConnection::Sqlite(_) => 1,
    },
};

/// Writes the allowed accesses of a group commit (or of one write's transaction). On
/// PostgreSQL they go in one statement ([`InsertEvents`]): one round trip for the group, where
/// a statement per event was one each. On SQLite, where a statement costs no round trip, each
/// row is one insert whose prepared form the connection keeps, where a statement of many rows
/// would be parsed anew for each size of group.
fn write_allowed(conn: &mut DbConnection, rows: &[&AccessEventRow]) -> Result<(), Error> {
    match conn {
        DbConnection::Postgres(conn) => {
            for chunk in rows.chunks(EVENTS_PER_STATEMENT) {
                InsertEvents::of(chunk).execute(conn)?;
            }
        }
        DbConnection::Sqlite(conn) => {
            for row in rows {
                diesel::insert_into(access_events::table)
                    .values(*row)
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Access events inserted on PostgreSQL by one statement of the same text whatever their
/// number, each column bound as an array, so that each connection prepares it once. diesel's
/// multi-row insert writes different SQL for each number of rows, which the database parsed
/// and planned anew for every group (a few events each, at the read rates measured).
struct InsertEvents {
    ids: Vec<AccessEventId>,
    person_ids: Vec<Option<PersonId>>,
    organisation_ids: Vec<OrganisationId>,
    client_ids: Vec<String>,
    grant_ids: Vec<Option<GrantId>>,
    actions: Vec<String>,
    resources: Vec<String>,
    allowed: Vec<bool>,
    reasons: Vec<Option<String>>,
    created_at: Vec<Timestamp>,
}

impl InsertEvents {
    fn of(rows: &[&AccessEventRow]) -> Self {
        InsertEvents {
            ids: rows.iter().map(|r| r.id).collect(),
            person_ids: rows.iter().map(|r| r.person_id).collect(),
            organisation_ids: rows.iter().map(|r| r.organisation_id).collect(),
            client_ids: rows.iter().map(|r| r.client_id.clone()).collect(),
            grant_ids: rows.iter().map(|r| r.grant_id).collect(),
            actions: rows.iter().map(|r| r.action.clone()).collect(),
            resources: rows.iter().map(|r| r.resource.clone()).collect(),
            allowed: rows.iter().map(|r| r.allowed).collect(),
            reasons: rows.iter().map(|r| r.reason.clone()).collect(),
            created_at: rows.iter().map(|r| r.created_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for InsertEvents {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO access_events (id, person_id, organisation_id, client_id, grant_id, \
             action, resource, allowed, reason, created_at) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.person_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.organisation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.client_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.grant_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.actions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.resources)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.allowed)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reasons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<UtcTimestamp>, _>(&self.created_at)?;
        out.push_sql(")");
        Ok(())
    }
}

crate::prepared_pg_query!(InsertEvents);

/// The most refused accesses one organisation can add to one person's log in a day: enough to
/// see what happened, not so many that an organisation can bury the rest of the log.
pub const MAX_REFUSALS_PER_DAY: i64 = 20;

/// Records a refused access off the answer's path: the request hands it over and the database's
/// background writer appends it a moment later. The refusal therefore costs the request the
/// same whether or not the person exists, and nobody can learn who holds a passport from how
/// fast they are refused. A refusal about someone who holds no passport is not kept (there is
/// nobody to show it to), nor one beyond [`MAX_REFUSALS_PER_DAY`] for the organisation.
pub fn refused(access: Access<'_>) {
    let row = AccessEventRow::from(access);
    crate::db::deferred::defer(Box::new(move |conn| write_refusal(conn, row)));
}

fn write_refusal(conn: &mut DbConnection, row: AccessEventRow) -> Result<(), Error> {
    let Some(person_id) = row.person_id else {
        return Ok(());
    };
    if !crate::people::store::exists(conn, person_id)? {
        return Ok(());
    }
    let since = AccessEventId::first_at(chrono::Utc::now() - chrono::Duration::days(1));
    let today: i64 = access_events::table
        .filter(access_events::person_id.eq(person_id))
        .filter(access_events::organisation_id.eq(row.organisation_id))
        .filter(access_events::allowed.eq(false))
        .filter(access_events::id.ge(since))
        .count()
        .get_result(conn)?;
    if today >= MAX_REFUSALS_PER_DAY {
        return Ok(());
    }
    diesel::insert_into(access_events::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

impl From<Access<'_>> for AccessEventRow {
    fn from(access: Access<'_>) -> Self {
        AccessEventRow {
            id: AccessEventId::new(),
            person_id: Some(access.person_id),
            organisation_id: access.organisation_id,
            client_id: access.client_id.to_owned(),
            grant_id: access.grant_id,
            action: access.action.to_owned(),
            resource: access.resource,
            allowed: access.allowed,
            reason: access.reason,
            created_at: Timestamp::now(),
        }
    }
}

/// Appends several allowed accesses in one statement, committed before the answer leaves as
/// [`append`] does; refused ones go to [`refused`].
pub fn append_all(conn: &mut DbConnection, accesses: Vec<Access<'_>>) -> Result<(), Error> {
    let mut rows = Vec::with_capacity(accesses.len());
    for access in accesses {
        if access.allowed {
            rows.push(AccessEventRow::from(access));
        } else {
            refused(access);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    crate::db::group_commit::before_answer(conn, Job::rows(rows, &ALLOWED))
}

/// A person's access log, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    filter: &AccessFilter,
    page: Page<AccessEventId>,
) -> Result<List<AccessEvent>, Error> {
    let mut query = access_events::table
        .inner_join(organisations::table)
        .filter(access_events::person_id.eq(person_id))
        .select((AccessEventRow::as_select(), organisations::name))
        .order(access_events::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(organisation) = filter.organisation_id {
        query = query.filter(access_events::organisation_id.eq(OrganisationId(organisation)));
    }
    if let Some(from) = filter.from {
        query = query.filter(access_events::created_at.ge(Timestamp::from(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(access_events::created_at.lt(Timestamp::from(to)));
    }
    if let Some(after) = page.after {
        query = query.filter(access_events::id.lt(after));
    }
    let rows: Vec<(AccessEventRow, String)> = query.load(conn)?;
    Ok(
        List::from_rows(rows, &page, |(row, _)| row.id).map(|(row, organisation_name)| {
            AccessEvent {
                id: row.id.0,
                organisation_id: row.organisation_id.0,
                organisation_name,
                client_id: row.client_id,
                grant_id: row.grant_id.map(|g| g.0),
                action: row.action,
                resource: row.resource,
                allowed: row.allowed,
                reason: row.reason,
                created_at: row.created_at.0,
            }
        }),
    )
}

/// Keeps a person's access events without what they were about: the organisation, client,
/// action and time stay, so that the audit keeps its count after an erasure.
pub fn erase_person(conn: &mut DbConnection, person_id: PersonId) -> Result<(), Error> {
    diesel::update(access_events::table.filter(access_events::person_id.eq(person_id)))
        .set((
            access_events::resource.eq("erased"),
            access_events::grant_id.eq(None::<GrantId>),
        ))
        .execute(conn)?;
    Ok(())
}
