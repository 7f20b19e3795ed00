//! The slots an organisation's usage is spread over on PostgreSQL, and the two ways of adding to
//! them: on a slot of its own ([`spread`]) or counting exactly over every slot ([`exactly`]).

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Bool, SmallInt};

use super::seen::{every_slot_seen, remember};
use super::{COLUMNS, Quotas, Usage, sum};
use crate::db::DbConnection;
use crate::db::ids::OrganisationId;
use crate::db::schema::xapi_usage;
use crate::error::Error;

/// Rows an organisation's usage is spread over on PostgreSQL.
pub const SLOTS: i16 = 16;

/// The most a write may add on a slot of its own; a larger one counts exactly. Every statement
/// POST fits, with up to 1 MiB of new attachment content.
pub const SPREAD_MOST: Usage = Usage {
    statements: crate::xapi::MAX_STATEMENTS as i64,
    documents: 1,
    attachment_bytes: 1 << 20,
};

impl Quotas {
    /// These quotas less what `writers` concurrent writers could each add on a slot of their
    /// own.
    pub(super) fn less_room_for(&self, writers: i64) -> Quotas {
        Quotas {
            statements: self
                .statements
                .saturating_sub(SPREAD_MOST.statements.saturating_mul(writers)),
            documents: self
                .documents
                .saturating_sub(SPREAD_MOST.documents.saturating_mul(writers)),
            attachment_bytes: self
                .attachment_bytes
                .saturating_sub(SPREAD_MOST.attachment_bytes.saturating_mul(writers)),
        }
    }
}

/// An organisation's slots and what each holds.
pub(super) fn slots_of(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
) -> Result<Vec<(i16, Usage)>, Error> {
    Ok(xapi_usage::table
        .filter(xapi_usage::organisation_id.eq(organisation_id))
        .select((xapi_usage::slot, COLUMNS))
        .load(conn)?)
}

/// Adds `change` on the slot of this thread, if the quotas leave room for every other slot's
/// writer beside it; answers whether it did. Otherwise nothing is changed or kept locked.
///
/// Why this is exact: take the last of the writes that passed this check. When it checked
/// (after taking its slot's lock), every other write was committed (and counted in the sum it
/// read), or holding another slot's lock (at most `SLOTS - 1` of them, each adding at most
/// [`SPREAD_MOST`]), or yet to take a lock, and so to check later, which the last cannot see.
/// A write that counts exactly holds every slot, so none of these is under way beside it.
pub(super) fn spread(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<bool, Error> {
    if change.statements > SPREAD_MOST.statements
        || change.documents > SPREAD_MOST.documents
        || change.attachment_bytes > SPREAD_MOST.attachment_bytes
    {
        return Ok(false);
    }
    if !every_slot_seen(organisation_id) {
        // Until this process has seen every slot committed, this write's slot could still be
        // uncommitted in another write that is creating the slots: the addition would find
        // no row, and the request fail. Counting exactly waits for that write instead.
        return Ok(false);
    }
    let room = quotas.less_room_for(i64::from(SLOTS) - 1);
    let DbConnection::Postgres(pg) = conn else {
        return Ok(false);
    };
    // The addition, and the sum read after it in a statement of its own, in one round trip:
    // the database function `xapi_usage_spread` (its migration says why the read sees every
    // write committed before this one took its slot). When the check fails, it rolls back the
    // addition, which gives the slot's lock back: counting exactly then takes every slot in
    // order, which a write holding one out of order could deadlock with.
    let answer: Spread = SpreadQuery {
        organisation_id,
        slot: thread_slot(),
        change,
        room,
    }
    .get_result(pg)?;
    remember(
        organisation_id,
        Usage {
            statements: answer.statements,
            documents: answer.documents,
            attachment_bytes: answer.attachment_bytes,
        },
        true,
    );
    Ok(answer.added)
}

/// `SELECT … FROM xapi_usage_spread(…)`, as a query type of its own rather than
/// `diesel::sql_query`, whose statements diesel never keeps prepared: this one is prepared once
/// per connection.
struct SpreadQuery {
    organisation_id: OrganisationId,
    slot: i16,
    change: Usage,
    room: Quotas,
}

impl QueryFragment<Pg> for SpreadQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT added, statements, documents, attachment_bytes FROM xapi_usage_spread(",
        );
        out.push_bind_param::<crate::db::types::sql::Uuid, _>(&self.organisation_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SmallInt, _>(&self.slot)?;
        for value in [
            &self.change.statements,
            &self.change.documents,
            &self.change.attachment_bytes,
            &self.room.statements,
            &self.room.documents,
            &self.room.attachment_bytes,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

crate::prepared_pg_query!(SpreadQuery);

/// What `xapi_usage_spread` answers: whether it added, and the sum it read.
#[derive(QueryableByName)]
struct Spread {
    #[diesel(sql_type = Bool)]
    added: bool,
    #[diesel(sql_type = BigInt)]
    statements: i64,
    #[diesel(sql_type = BigInt)]
    documents: i64,
    #[diesel(sql_type = BigInt)]
    attachment_bytes: i64,
}

/// Locks every slot (in slot order, as every writer that counts exactly does), checks the
/// quotas against the exact sum, and adds `change` on slot 0.
pub(super) fn exactly(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<(), Error> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let known = every_slot_seen(organisation_id);
    let mut created = 0;
    if postgres && !known {
        // Before any slot is locked: a write holding a lock while it waits to create slots
        // another is creating could wait on that one in a cycle.
        created = create_slots(conn, organisation_id)?;
    }
    let mut held = locked(conn, organisation_id)?;
    if held.is_empty() {
        // SQLite's first use.
        created = create_slots(conn, organisation_id)?;
        held = locked(conn, organisation_id)?;
    }
    let every_slot = postgres && created == 0 && held.len() == usize::from(SLOTS.unsigned_abs());
    let before = sum(held.into_iter());
    remember(organisation_id, before, every_slot);
    before.admits(&change, quotas)?;
    add_to(conn, organisation_id, 0, change)
}

/// Every slot of an organisation, locked until the caller's transaction ends. (SQLite's writer
/// already excludes every other.)
fn locked(conn: &mut DbConnection, organisation_id: OrganisationId) -> Result<Vec<Usage>, Error> {
    let slots = xapi_usage::table
        .filter(xapi_usage::organisation_id.eq(organisation_id))
        .order(xapi_usage::slot)
        .select(COLUMNS);
    Ok(match conn {
        DbConnection::Postgres(pg) => slots.for_update().load(pg)?,
        DbConnection::Sqlite(sqlite) => slots.load(sqlite)?,
    })
}

/// Creates an organisation's slots at its first use: all of them at once on PostgreSQL, so
/// that a write counting exactly finds and locks every slot there will ever be; slot 0 on
/// SQLite.
fn create_slots(conn: &mut DbConnection, organisation_id: OrganisationId) -> Result<usize, Error> {
    let count = match conn {
        DbConnection::Postgres(_) => SLOTS,
        DbConnection::Sqlite(_) => 1,
    };
    let rows: Vec<_> = (0..count)
        .map(|slot| {
            (
                xapi_usage::organisation_id.eq(organisation_id),
                xapi_usage::slot.eq(slot),
            )
        })
        .collect();
    Ok(crate::on_backend!(conn, |c| diesel::insert_into(
        xapi_usage::table
    )
    .values(&rows)
    .on_conflict_do_nothing()
    .execute(c))?)
}

/// Adds `change` to one slot, which exists: an organisation's slots are created before it is
/// counted, and removed only with it.
pub(super) fn add_to(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    slot: i16,
    change: Usage,
) -> Result<(), Error> {
    let changed = diesel::update(xapi_usage::table.find((organisation_id, slot)))
        .set((
            xapi_usage::statements.eq(xapi_usage::statements + change.statements),
            xapi_usage::documents.eq(xapi_usage::documents + change.documents),
            xapi_usage::attachment_bytes.eq(xapi_usage::attachment_bytes + change.attachment_bytes),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::Internal(format!(
            "slot {slot} of the organisation's LRS usage is missing"
        )));
    }
    Ok(())
}

/// This thread's slot: threads take slots in turn as they first write, so that the few
/// threads writing at once hold different slots.
pub fn thread_slot() -> i16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    thread_local! {
        static SLOT: i16 = (NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS as u16) as i16;
    }
    SLOT.with(|slot| *slot)
}
