//! Failed authentications and the cost of checking secrets.
//!
//! Checking a client secret costs an argon2id hash by design, so a stream of made-up
//! credentials could take every core (and, before this, a database connection per attempt).
//! Three things bound it:
//!
//! - each caller address has a budget of failed authentications; once spent, credentials from
//!   that address are answered 429 without being checked. Each client id has one too, applied
//!   to addresses that have failed lately, so that nobody can lock a client out from elsewhere;
//! - secrets are checked on a bounded pool (about one per core), never while a database
//!   connection is held;
//! - a secret that verified is remembered (as a SHA-256, never in the clear) for a minute, so
//!   that clients sending their credentials with every request (LRS clients) do not pay argon2
//!   each time. Revocation still takes effect at once: the client is looked up on every request.
//!
//! Guessing share codes is bounded the same way: a failed redemption spends the address's
//! failed-authentication budget and a redemption budget of the client's own, and once either is
//! spent the client is answered 429 without the code being looked at.

use crate::db::ids::OrganisationId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::scopes::Scopes;
use crate::http::client_address::CallerAddress;
use crate::http::limits::{Buckets, Key};

/// How long a caller waits for a turn to have its secret checked before it is told to retry.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// Failed attempts allowed against one client id, per minute, from addresses that have failed.
const CLIENT_FAILURES_PER_MINUTE: u32 = 10;
/// How long a verified secret is remembered, and for how many clients at most.
const REMEMBER: Duration = Duration::from_secs(60);
const MAX_REMEMBERED: usize = 10_000;
/// Failed share-code redemptions allowed per client, per minute (and at once).
pub const REDEMPTION_FAILURES_PER_MINUTE: u32 = 10;

/// A client whose secret verified: the secret's SHA-256, when, and what the client is.
struct Remembered {
    digest: [u8; 32],
    at: Instant,
    organisation: OrganisationId,
    scopes: Scopes,
}

/// The budgets, the hashing pool and the memory of verified secrets.
pub struct AuthAttempts {
    by_address: Buckets,
    by_client: Buckets,
    redemptions: Buckets,
    hashing: Semaphore,
    remembered: Mutex<HashMap<String, Remembered>>,
}

/// Budget taken for one share-code redemption; given back if the code was good.
pub struct RedemptionReservation {
    address: Key,
    client: String,
}

/// Budget taken for one expensive check; given back if the check succeeds.
pub struct Reservation {
    address: Key,
    client: Option<String>,
}

impl AuthAttempts {
    /// `failures_per_minute` failed authentications per address (0: no budget), and
    /// `hash_workers` secrets checked at once.
    pub fn new(failures_per_minute: u32, hash_workers: usize) -> Self {
        AuthAttempts {
            by_address: Buckets::new(failures_per_minute, f64::from(failures_per_minute), 100_000),
            by_client: Buckets::new(
                CLIENT_FAILURES_PER_MINUTE.min(failures_per_minute),
                f64::from(CLIENT_FAILURES_PER_MINUTE),
                100_000,
            ),
            redemptions: Buckets::new(
                REDEMPTION_FAILURES_PER_MINUTE,
                f64::from(REDEMPTION_FAILURES_PER_MINUTE),
                100_000,
            ),
            hashing: Semaphore::new(hash_workers.max(1)),
            remembered: Mutex::new(HashMap::new()),
        }
    }

    /// A failed authentication that cost little (a bad bearer token): spends the address's
    /// budget. Answers the seconds to wait when the budget was already spent.
    pub fn failed(&self, address: CallerAddress, client_id: Option<&str>) -> Option<u64> {
        let wait = self.by_address.take(&Key::address(address));
        if let Some(client_id) = client_id {
            self.by_client.take(&client_id);
        }
        wait
    }

    /// Takes budget before an expensive check; answers the seconds to wait when there is none.
    pub fn reserve(&self, address: CallerAddress, client_id: &str) -> Result<Reservation, u64> {
        let key = Key::address(address);
        let clean = self.by_address.untouched(&key);
        if let Some(wait) = self.by_address.take(&key) {
            return Err(wait);
        }
        // A client id's own budget only binds addresses that have failed lately.
        let client = if clean {
            None
        } else {
            match self.by_client.take(&client_id) {
                Some(wait) => {
                    self.by_address.refund(&key);
                    return Err(wait);
                }
                None => Some(client_id.to_owned()),
            }
        };
        Ok(Reservation {
            address: key,
            client,
        })
    }

    /// The check succeeded: its budget is given back.
    pub fn succeeded(&self, reservation: Reservation) {
        self.by_address.refund(&reservation.address);
        if let Some(client) = &reservation.client {
            self.by_client.refund(client);
        }
    }

    /// Takes budget before a share code is looked at: one failure's worth of the address's
    /// failed-authentication budget and of the client's redemption budget. Answers the seconds
    /// to wait when either is spent; nothing is taken then.
    pub fn reserve_redemption(
        &self,
        address: CallerAddress,
        client_id: &str,
    ) -> Result<RedemptionReservation, u64> {
        let key = Key::address(address);
        if let Some(wait) = self.redemptions.take(&client_id) {
            return Err(wait);
        }
        if let Some(wait) = self.by_address.take(&key) {
            self.redemptions.refund(&client_id);
            return Err(wait);
        }
        Ok(RedemptionReservation {
            address: key,
            client: client_id.to_owned(),
        })
    }

    /// The code was good: its budget is given back. A failed redemption keeps it spent.
    pub fn redeemed(&self, reservation: RedemptionReservation) {
        self.by_address.refund(&reservation.address);
        self.redemptions.refund(&reservation.client);
    }

    /// A turn on the hashing pool, or `None` when none comes free in time.
    pub async fn hashing_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(HASH_QUEUE_WAIT, self.hashing.acquire())
            .await
            .ok()?
            .ok()
    }

    /// The client a secret verified for a moment ago, if this is that secret.
    pub fn recall(&self, client_id: &str, secret: &str) -> Option<(OrganisationId, Scopes)> {
        let digest = digest(secret);
        let entries = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|r| r.digest == digest && r.at.elapsed() < REMEMBER)
            .map(|r| (r.organisation, r.scopes.clone()))
    }

    /// Remembers a secret that verified.
    pub fn remember(
        &self,
        client_id: &str,
        secret: &str,
        organisation: OrganisationId,
        scopes: Scopes,
    ) {
        let mut entries = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_REMEMBERED {
            entries.retain(|_, r| r.at.elapsed() < REMEMBER);
        }
        if entries.len() < MAX_REMEMBERED {
            entries.insert(
                client_id.to_owned(),
                Remembered {
                    digest: digest(secret),
                    at: Instant::now(),
                    organisation,
                    scopes,
                },
            );
        }
    }

    /// Forgets a client's secret (it was revoked, or did not verify).
    pub fn forget(&self, client_id: &str) {
        let mut entries = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(client_id);
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn at(ip: &str) -> CallerAddress {
        CallerAddress(Some(ip.parse::<IpAddr>().unwrap()))
    }

    #[test]
    fn an_address_that_spent_its_budget_is_refused_and_others_are_not() {
        let attempts = AuthAttempts::new(5, 1);
        for _ in 0..5 {
            assert!(attempts.reserve(at("198.51.100.1"), "lpc_x").is_ok());
        }
        assert!(attempts.reserve(at("198.51.100.1"), "lpc_x").is_err());
        assert!(attempts.failed(at("198.51.100.1"), None).is_some());
        // Another address is not affected, and a clean address is not bound by the client's
        // budget that the failing address spent.
        assert!(attempts.reserve(at("198.51.100.2"), "lpc_x").is_ok());
    }

    #[test]
    fn failed_redemptions_spend_the_client_and_the_address() {
        let attempts = AuthAttempts::new(15, 1);
        for _ in 0..REDEMPTION_FAILURES_PER_MINUTE {
            drop(
                attempts
                    .reserve_redemption(at("198.51.100.4"), "lpc_a")
                    .unwrap(),
            );
        }
        // The client's budget is spent; another client at the same address still has some
        // of the address's.
        assert!(
            attempts
                .reserve_redemption(at("198.51.100.4"), "lpc_a")
                .is_err()
        );
        for _ in 0..5 {
            drop(
                attempts
                    .reserve_redemption(at("198.51.100.4"), "lpc_b")
                    .unwrap(),
            );
        }
        assert!(
            attempts
                .reserve_redemption(at("198.51.100.4"), "lpc_b")
                .is_err()
        );
        // The address's failures count against authentication too.
        assert!(attempts.failed(at("198.51.100.4"), None).is_some());
        // A good code gives its budget back.
        let reservation = attempts
            .reserve_redemption(at("198.51.100.5"), "lpc_c")
            .unwrap();
        attempts.redeemed(reservation);
        for _ in 0..REDEMPTION_FAILURES_PER_MINUTE {
            drop(
                attempts
                    .reserve_redemption(at("198.51.100.5"), "lpc_c")
                    .unwrap(),
            );
        }
    }

    #[test]
    fn a_successful_check_gives_its_budget_back() {
        let attempts = AuthAttempts::new(2, 1);
        for _ in 0..10 {
            let reservation = attempts.reserve(at("198.51.100.3"), "lpc_y").unwrap();
            attempts.succeeded(reservation);
        }
    }

    #[test]
    fn a_remembered_secret_is_recalled_only_by_the_same_secret() {
        let attempts = AuthAttempts::new(5, 1);
        attempts.remember(
            "lpc_z",
            "lps_secret",
            OrganisationId::new(),
            Scopes::default(),
        );
        assert!(attempts.recall("lpc_z", "lps_secret").is_some());
        assert!(attempts.recall("lpc_z", "lps_other").is_none());
        attempts.forget("lpc_z");
        assert!(attempts.recall("lpc_z", "lps_secret").is_none());
    }
}
