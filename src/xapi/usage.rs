//! What each organisation keeps in its LRS (`xapi_usage`), and the quotas that bound it.
//!
//! The counts change in the transactions that store or delete statements, attachments and
//! documents, so that they are exact and a quota costs one row read. Each write changes the
//! row last: on PostgreSQL the row stays locked until the commit, and concurrent writers of
//! one organisation queue on it, so the lock is taken when nothing else is left to do.

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

/// What an organisation's LRS holds now (nothing when it has never been used).
pub fn current(conn: &mut DbConnection, organisation_id: OrganisationId) -> Result<Usage, Error> {
    Ok(xapi_usage::table
        .find(organisation_id)
        .select(COLUMNS)
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// Adds `change` (negative for what was deleted) to an organisation's usage, inside the
/// caller's transaction, which it must end: the row stays locked until the commit. A change
/// that grows a count past its quota is an error, and the caller's transaction rolls back.
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
        // Deletions: the row exists, since whatever is deleted was counted when stored.
        diesel::update(xapi_usage::table.find(organisation_id))
            .set((
                xapi_usage::statements.eq(xapi_usage::statements + change.statements),
                xapi_usage::documents.eq(xapi_usage::documents + change.documents),
                xapi_usage::attachment_bytes
                    .eq(xapi_usage::attachment_bytes + change.attachment_bytes),
            ))
            .execute(conn)?;
        return Ok(());
    }
    // An organisation's first use creates its row; ON CONFLICT needs the backend's own
    // connection.
    let row = (
        xapi_usage::organisation_id.eq(organisation_id),
        xapi_usage::statements.eq(change.statements),
        xapi_usage::documents.eq(change.documents),
        xapi_usage::attachment_bytes.eq(change.attachment_bytes),
    );
    let (statements, documents, attachment_bytes): (i64, i64, i64) =
        crate::on_backend!(conn, |c| diesel::insert_into(xapi_usage::table)
            .values(row)
            .on_conflict(xapi_usage::organisation_id)
            .do_update()
            .set((
                xapi_usage::statements.eq(xapi_usage::statements + change.statements),
                xapi_usage::documents.eq(xapi_usage::documents + change.documents),
                xapi_usage::attachment_bytes
                    .eq(xapi_usage::attachment_bytes + change.attachment_bytes),
            ))
            .returning(COLUMNS)
            .get_result(c))?;
    let before = Usage {
        statements: statements - change.statements,
        documents: documents - change.documents,
        attachment_bytes: attachment_bytes - change.attachment_bytes,
    };
    before.admits(&change, quotas)
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
