//! Telling organisations of their requests that expired unanswered, swept by the webhook
//! delivery worker.

use super::store;
use crate::db::DbConnection;
use crate::error::Error;
use crate::outbox::AccessRequestChange;

/// Requests past their expiry whose organisation has not been told: `access_request.expired`
/// for each addressed to someone who held a passport when it was made and has not blocked the
/// organisation; the rest expire without a word, so that an expiry tells no more than the
/// answer to the request did. Each is claimed with a conditional update, so that several
/// instances sweeping at once tell each once. Answers how many were told.
pub fn sweep(conn: &mut DbConnection) -> Result<usize, Error> {
    const BATCH: i64 = 200;
    crate::db::transaction(conn, |conn| {
        let mut told = 0;
        for row in store::expired_untold(conn, BATCH)? {
            if !store::claim_expiry(conn, row.id)? {
                continue;
            }
            let Some(person_id) = row.person_id else {
                continue;
            };
            if store::is_blocked(conn, person_id, row.organisation_id)? {
                continue;
            }
            super::answers::told(conn, &row, person_id, AccessRequestChange::Expired)?;
            told += 1;
        }
        Ok(told)
    })
}
