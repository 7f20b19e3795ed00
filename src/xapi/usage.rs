//! What each organisation keeps in its LRS (`xapi_usage`), and the quotas that bound it.
//!
//! The counts change in the transactions that store or delete statements, attachments and
//! documents, so that they are exact and a quota costs one small read. Each write changes the
//! counts last: on PostgreSQL the row it adds to stays locked until the commit.
//!
//! An organisation's usage is the sum of up to [`SLOTS`] rows. On PostgreSQL a write adds to
//! the slot of its thread, so that concurrent writers of one organisation (a course player's
//! statements, one per POST) do not queue on one row through each other's commits, which
//! held them to one commit at a time. A write knows only what is committed, not what
//! concurrent writers are adding, so it checks its quotas with room for each other slot's
//! writer to add the most a write on a slot may ([`SPREAD_MOST`]); a write that finds no such
//! room, or adds more than that, locks every slot and counts exactly. SQLite has one writer:
//! it uses slot 0 and always counts exactly.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::ids::OrganisationId;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::config::XapiSettings;
use crate::db::DbConnection;
use crate::db::schema::xapi_usage;
use crate::error::Error;

/// How much one organisation's LRS may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub statements: i64,
    pub documents: i64,
    pub attachment_bytes: i64,
}

impl Quotas {
    /// For changes that only delete, which no quota refuses.
    pub const UNBOUNDED: Quotas = Quotas {
        statements: i64::MAX,
        documents: i64::MAX,
        attachment_bytes: i64::MAX,
    };
}

impl From<&XapiSettings> for Quotas {
    fn from(settings: &XapiSettings) -> Self {
        let bound = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Quotas {
            statements: bound(settings.max_statements),
            documents: bound(settings.max_documents),
            attachment_bytes: bound(settings.max_attachment_bytes),
        }
    }
}

/// What an organisation's LRS holds, or a change to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Queryable)]
pub struct Usage {
    pub statements: i64,
    pub documents: i64,
    pub attachment_bytes: i64,
}

impl Usage {
    fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Refuses `added` on top of `self` when it takes a count past its quota. Only what grows
    /// is checked: a quota lowered below what is held still lets the organisation delete.
    pub fn admits(&self, added: &Usage, quotas: &Quotas) -> Result<(), Error> {
        let checks = [
            (
                added.statements,
                self.statements,
                quotas.statements,
                "statements",
                "PASSPORT_XAPI_MAX_STATEMENTS",
            ),
            (
                added.documents,
                self.documents,
                quotas.documents,
                "documents",
                "PASSPORT_XAPI_MAX_DOCUMENTS",
            ),
            (
                added.attachment_bytes,
                self.attachment_bytes,
                quotas.attachment_bytes,
                "bytes of attachments",
                "PASSPORT_XAPI_MAX_ATTACHMENT_BYTES",
            ),
        ];
        for (added, held, limit, what, setting) in checks {
            if added > 0 && held.saturating_add(added) > limit {
                return Err(Error::QuotaExceeded(format!(
                    "the organisation's LRS may hold at most {limit} {what} ({setting}) and holds {held}: this request would add {added}, so nothing was stored",
                )));
            }
        }
        Ok(())
    }
}

const COLUMNS: (
    xapi_usage::statements,
    xapi_usage::documents,
    xapi_usage::attachment_bytes,
) = (
    xapi_usage::statements,
    xapi_usage::documents,
    xapi_usage::attachment_bytes,
);

/// Rows an organisation's usage is spread over on PostgreSQL.
pub const SLOTS: i16 = 16;

/// The most a write may add on a slot of its own; a larger one counts exactly. Every statement
/// POST fits, with up to 1 MiB of new attachment content.
pub const SPREAD_MOST: Usage = Usage {
    statements: crate::xapi::MAX_STATEMENTS as i64,
    documents: 1,
    attachment_bytes: 1 << 20,
};

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            statements: self.statements.saturating_add(other.statements),
            documents: self.documents.saturating_add(other.documents),
            attachment_bytes: self.attachment_bytes.saturating_add(other.attachment_bytes),
        }
    }
}

impl Quotas {
    /// These quotas less what `writers` concurrent writers could each add on a slot of their
    /// own.
    fn less_room_for(&self, writers: i64) -> Quotas {
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

/// What an organisation's LRS holds as committed (nothing when it has never been used).
pub fn current(conn: &mut DbConnection, organisation_id: OrganisationId) -> Result<Usage, Error> {
    let slots = slots_of(conn, organisation_id)?;
    let held = sum(slots.iter().map(|(_, usage)| *usage));
    // No caller reads after creating slots in its own transaction: these rows are committed.
    remember(
        organisation_id,
        held,
        slots.len() == usize::from(SLOTS.unsigned_abs()),
    );
    Ok(held)
}

/// An organisation's slots and what each holds.
fn slots_of(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
) -> Result<Vec<(i16, Usage)>, Error> {
    Ok(xapi_usage::table
        .filter(xapi_usage::organisation_id.eq(organisation_id))
        .select((xapi_usage::slot, COLUMNS))
        .load(conn)?)
}

fn sum(slots: impl Iterator<Item = Usage>) -> Usage {
    slots.fold(Usage::default(), |sum, slot| sum + slot)
}

/// What this process last read of an organisation's usage.
#[derive(Clone, Copy)]
struct Seen {
    usage: Usage,
    /// Every slot was seen committed. Slots are only ever created, never removed (but with
    /// their organisation), so this stays true.
    every_slot: bool,
}

static LAST_SEEN: std::sync::LazyLock<Mutex<HashMap<OrganisationId, Seen>>> =
    std::sync::LazyLock::new(Mutex::default);

fn remember(organisation_id: OrganisationId, usage: Usage, every_slot_committed: bool) {
    if let Ok(mut seen) = LAST_SEEN.lock() {
        let every_slot = every_slot_committed
            || seen
                .get(&organisation_id)
                .is_some_and(|before| before.every_slot);
        seen.insert(organisation_id, Seen { usage, every_slot });
    }
}

fn last_seen(organisation_id: OrganisationId) -> Option<Seen> {
    LAST_SEEN.lock().ok()?.get(&organisation_id).copied()
}

/// Whether the organisation's usage, as this process last read it, leaves room for `change`
/// beside a write on every slot. A request may then skip reading the usage before it writes,
/// a read whose only purpose is to refuse cheaply what cannot fit: its write still counts
/// exactly, and refuses if the organisation filled up meanwhile (another process, say).
pub fn surely_fits(organisation_id: OrganisationId, change: &Usage, quotas: &Quotas) -> bool {
    last_seen(organisation_id).is_some_and(|seen| {
        seen.usage
            .admits(change, &quotas.less_room_for(i64::from(SLOTS)))
            .is_ok()
    })
}

/// Adds `change` (negative for what was deleted) to an organisation's usage, inside the
/// caller's transaction, which it must end: the row changed stays locked until the commit. A
/// change that grows a count past its quota is an error, and the caller's transaction rolls
/// back. A transaction grows an organisation's usage once at most, with the sum of what it
/// adds: the reasoning of [`spread`] counts one addition per slot.
pub fn apply(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<(), Error> {
    if change.is_zero() {
        return Ok(());
    }
    let grows = change.statements > 0 || change.documents > 0 || change.attachment_bytes > 0;
    if !grows {
        // Deletions go to slot 0, which exists: whatever is deleted was counted when stored,
        // and counting creates slot 0.
        if add_to(conn, organisation_id, 0, change)? == 0 {
            return Err(Error::Internal(
                "slot 0 of the organisation's LRS usage is missing".into(),
            ));
        }
        return Ok(());
    }
    if matches!(conn, DbConnection::Postgres(_)) && spread(conn, organisation_id, change, quotas)? {
        return Ok(());
    }
    exactly(conn, organisation_id, change, quotas)
}

/// Adds `change` on the slot of this thread, if the quotas leave room for every other slot's
/// writer beside it; answers whether it did. Otherwise nothing is changed or kept locked.
///
/// Why this is exact: take the last of the writes that passed this check. When it checked
/// (after taking its slot's lock), every other write was committed (and counted in the sum it
/// read), or holding another slot's lock (at most `SLOTS - 1` of them, each adding at most
/// [`SPREAD_MOST`]), or yet to take a lock, and so to check later, which the last cannot see.
/// A write that counts exactly holds every slot, so none of these is under way beside it.
fn spread(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<bool, Error> {
    let fits = |limit: i64, add: i64| add <= limit;
    if !(fits(SPREAD_MOST.statements, change.statements)
        && fits(SPREAD_MOST.documents, change.documents)
        && fits(SPREAD_MOST.attachment_bytes, change.attachment_bytes))
    {
        return Ok(false);
    }
    if !last_seen(organisation_id).is_some_and(|seen| seen.every_slot) {
        // Until this process has seen every slot committed, a slot row could be committed by
        // another write between this one's addition (which missed it) and its read (which
        // sees it), and the addition would be taken for made.
        return Ok(false);
    }
    let slot = thread_slot();
    // The savepoint and the addition in one round trip. The slot's lock is given back if the
    // check fails: counting exactly then takes every slot in order, which a write holding one
    // out of order could deadlock with. The text holds only numbers and an id.
    let Usage {
        statements,
        documents,
        attachment_bytes,
    } = change;
    conn.batch_execute(&format!(
        "SAVEPOINT usage_slot; \
         UPDATE xapi_usage SET statements = statements + {statements}, \
         documents = documents + {documents}, \
         attachment_bytes = attachment_bytes + {attachment_bytes} \
         WHERE organisation_id = '{}' AND slot = {slot}",
        organisation_id.0
    ))?;
    // A statement of its own, after the lock: its snapshot then holds every write committed
    // before this one took its slot.
    let slots = slots_of(conn, organisation_id)?;
    if !slots.iter().any(|(s, _)| *s == slot) {
        // Every slot was seen committed, and slots are not removed but with the organisation.
        return Err(Error::Internal(format!(
            "slot {slot} of the organisation's LRS usage is missing"
        )));
    }
    let with_this = sum(slots.into_iter().map(|(_, usage)| usage));
    remember(organisation_id, with_this, true);
    let before = Usage {
        statements: with_this.statements - change.statements,
        documents: with_this.documents - change.documents,
        attachment_bytes: with_this.attachment_bytes - change.attachment_bytes,
    };
    let room = quotas.less_room_for(i64::from(SLOTS) - 1);
    if before.admits(&change, &room).is_ok() {
        return Ok(true);
    }
    diesel::sql_query("ROLLBACK TO SAVEPOINT usage_slot").execute(conn)?;
    Ok(false)
}

/// Locks every slot (in slot order, as every writer that counts exactly does), checks the
/// quotas against the exact sum, and adds `change` on slot 0.
fn exactly(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<(), Error> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let known = last_seen(organisation_id).is_some_and(|seen| seen.every_slot);
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
    if add_to(conn, organisation_id, 0, change)? == 0 {
        return Err(Error::Internal(
            "slot 0 of the organisation's LRS usage is missing".into(),
        ));
    }
    Ok(())
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

/// Adds `change` to one slot; answers the rows changed (0 when the slot does not exist yet).
fn add_to(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    slot: i16,
    change: Usage,
) -> Result<usize, Error> {
    Ok(
        diesel::update(xapi_usage::table.find((organisation_id, slot)))
            .set((
                xapi_usage::statements.eq(xapi_usage::statements + change.statements),
                xapi_usage::documents.eq(xapi_usage::documents + change.documents),
                xapi_usage::attachment_bytes
                    .eq(xapi_usage::attachment_bytes + change.attachment_bytes),
            ))
            .execute(conn)?,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTAS: Quotas = Quotas {
        statements: 10,
        documents: 2,
        attachment_bytes: 100,
    };

    #[test]
    fn a_change_up_to_the_quota_is_admitted_and_one_past_it_is_not() {
        let held = Usage {
            statements: 8,
            documents: 2,
            attachment_bytes: 100,
        };
        let two = Usage {
            statements: 2,
            ..Usage::default()
        };
        assert!(held.admits(&two, &QUOTAS).is_ok());
        let three = Usage {
            statements: 3,
            ..Usage::default()
        };
        let refused = held.admits(&three, &QUOTAS).unwrap_err();
        assert!(matches!(&refused, Error::QuotaExceeded(detail)
            if detail.contains("at most 10 statements") && detail.contains("PASSPORT_XAPI_MAX_STATEMENTS")));
    }

    #[test]
    fn only_what_grows_is_checked() {
        // Over every quota (they were lowered), yet deleting and adding nothing are fine.
        let held = Usage {
            statements: 20,
            documents: 5,
            attachment_bytes: 500,
        };
        let deleting = Usage {
            statements: -1,
            documents: -1,
            attachment_bytes: -10,
        };
        assert!(held.admits(&deleting, &QUOTAS).is_ok());
        assert!(held.admits(&Usage::default(), &QUOTAS).is_ok());
        let one_document = Usage {
            documents: 1,
            ..Usage::default()
        };
        assert!(held.admits(&one_document, &QUOTAS).is_err());
    }
}
