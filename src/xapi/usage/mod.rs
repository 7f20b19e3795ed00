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
//!
//! - [`slots`]: the slots, and the two ways of adding to them;
//! - [`seen`]: what this process last read of each organisation's usage.

mod seen;
mod slots;

use seen::{last_usage, remember};
pub use slots::{SLOTS, SPREAD_MOST, thread_slot};
use slots::{add_to, exactly, slots_of, spread};

use crate::db::ids::OrganisationId;
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

fn sum(slots: impl Iterator<Item = Usage>) -> Usage {
    slots.fold(Usage::default(), |sum, slot| sum + slot)
}

/// Whether the organisation's usage, as this process last read it, leaves room for `change`
/// beside a write on every slot. A request may then skip reading the usage before it writes,
/// a read whose only purpose is to refuse cheaply what cannot fit: its write still counts
/// exactly, and refuses if the organisation filled up meanwhile (another process, say).
pub fn surely_fits(organisation_id: OrganisationId, change: &Usage, quotas: &Quotas) -> bool {
    last_usage(organisation_id).is_some_and(|held| {
        held.admits(change, &quotas.less_room_for(i64::from(SLOTS)))
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
        return add_to(conn, organisation_id, 0, change);
    }
    if matches!(conn, DbConnection::Postgres(_)) && spread(conn, organisation_id, change, quotas)? {
        return Ok(());
    }
    exactly(conn, organisation_id, change, quotas)
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
