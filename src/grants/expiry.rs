//! The notices owed as grants near and pass their expiry, swept by the delivery worker.

use chrono::Utc;

use super::store;
use crate::db::DbConnection;
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::outbox::GrantChange;

/// Grants whose expiry is near or past and that are still owed a notice: `grant.expired` for
/// those past (instead of `grant.expiring`, if it was never sent), then `grant.expiring` for
/// those within `expiring_days`. Each notice is claimed with a conditional update, so that
/// several instances sweeping at once send each one once. Answers how many were sent.
pub fn sweep(conn: &mut DbConnection, expiring_days: i64) -> Result<usize, Error> {
    const BATCH: i64 = 200;
    let now = Timestamp::now();
    let soon = Timestamp(Utc::now() + chrono::Duration::days(expiring_days));
    let mut sent = 0;
    crate::db::transaction(conn, |conn| {
        let owed = [
            (
                &["pending", "expiring"][..],
                None,
                now,
                "closed",
                GrantChange::Expired,
            ),
            (
                &["pending"][..],
                Some(now),
                soon,
                "expiring",
                GrantChange::Expiring,
            ),
        ];
        for (from, after, until, to, change) in owed {
            for grant in store::owed_notice(conn, from, after, until, BATCH)? {
                if store::claim_notice(conn, grant.id, from, to)? {
                    super::told(conn, change, &grant)?;
                    sent += 1;
                }
            }
        }
        Ok(sent)
    })
}
