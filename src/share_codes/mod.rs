//! Share codes: a person offers a grant, on terms they set, as a short code they read out or
//! show as a QR code; the organisation they hand it to redeems it, once, and holds the grant.
//!
//! - [`code`]: making codes, reading them back, and the digest that is all the service keeps;
//! - [`model`]: the API's types;
//! - [`store`]: the `share_codes` table, and the one rule that makes a code redeemable;
//! - this file: making, revoking and redeeming codes. A redemption creates its grant through
//!   [`crate::grants::create`], so that it is told to the organisation's webhooks and shown in
//!   the person's list exactly as a grant the person made themselves.

pub mod code;
pub mod handlers;
pub mod model;
pub mod store;

use chrono::Utc;

pub use model::*;
pub use store::{ShareCodeRow, get, list};

use crate::access::{self, Access};
use crate::auth::{OrgCaller, Scope};
use crate::db::DbConnection;
use crate::db::ids::{PersonId, ShareCodeId};
use crate::db::types::{Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::grants::{GrantInput, Permission, ReceivedGrant, RecordScope};

/// The most active codes one person may have at once.
pub const MAX_ACTIVE_PER_PERSON: i64 = 20;

/// The one answer to a code that cannot be redeemed, whatever the reason: unknown, mistyped,
/// expired, already redeemed or revoked. Nothing can be learned from it about which.
pub fn refusal() -> Error {
    Error::invalid(
        "code",
        "this code cannot be redeemed: it is unknown, expired, already used or revoked",
    )
}

/// What came of a redemption.
pub enum Redeemed {
    /// The code was good: the grant it became, as the organisation sees it.
    Grant(ReceivedGrant),
    /// The code could not be redeemed: answer [`refusal`].
    Refused,
}

/// Makes a share code for the person. Its terms follow the rules of a grant's; any record ids
/// must be the person's own.
pub fn create(
    conn: &mut DbConnection,
    person_id: PersonId,
    input: ShareCodeInput,
    max_days: i64,
    public_url: &str,
    key: &code::CodeKey,
) -> Result<NewShareCode, Error> {
    let now = Utc::now();
    let mut errors = input.check(now, max_days);
    if let RecordScope::Selected(selection) = &input.scope.records {
        errors.extend(crate::records::store::not_owned(
            conn,
            person_id,
            &selection.record_ids,
            "scope.records.record_ids",
        )?);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if store::active_count(conn, person_id)? >= MAX_ACTIVE_PER_PERSON {
        return Err(Error::Conflict(format!(
            "you have {MAX_ACTIVE_PER_PERSON} active share codes, the most one person may: revoke one or let it expire first"
        )));
    }
    let mut scope = input.scope.clone();
    if let RecordScope::Selected(selection) = &mut scope.records {
        for code in &mut selection.activity_codes {
            *code = code.trim().to_owned();
        }
    }
    let code = code::generate();
    let canonical = code::canonical(&code)
        .ok_or_else(|| Error::Internal("a generated share code did not read back".into()))?;
    let row = ShareCodeRow {
        id: ShareCodeId::new(),
        person_id,
        code_hash: key.digest(&canonical),
        permission: input.permission.as_str().to_owned(),
        scope: Json::of(&scope),
        purpose: input.purpose.trim().to_owned(),
        grant_expires_at: Timestamp::from(input.grant_expires_at),
        created_at: Timestamp::from(now),
        expires_at: Timestamp::from(now + chrono::Duration::minutes(input.lifetime_minutes())),
        revoked_at: None,
        redeemed_at: None,
        organisation_id: None,
        client_id: None,
        grant_id: None,
    };
    store::insert(conn, &row)?;
    Ok(NewShareCode {
        url: format!("{}/share/{code}", public_url.trim_end_matches('/')),
        code,
        share_code: row.view(None),
    })
}

/// Revokes one of the person's active codes. Revoking a revoked or expired code changes
/// nothing; a redeemed one is refused, since it is the grant it became that must be revoked.
pub fn revoke(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: ShareCodeId,
) -> Result<ShareCode, Error> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, person_id, id)?;
        if current.status == ShareCodeStatus::Active {
            store::mark_revoked(conn, person_id, id)?;
        }
        let now = get(conn, person_id, id)?;
        if now.status == ShareCodeStatus::Redeemed {
            return Err(Error::Conflict(
                "this code has been redeemed: revoke the grant it became instead".into(),
            ));
        }
        Ok(now)
    })
}

/// Redeems a code for the calling organisation: the code is claimed with a conditional update,
/// so that of several redeemers at once exactly one wins, and the grant is created in the same
/// transaction. The redemption is written to the person's access log.
pub fn redeem(
    conn: &mut DbConnection,
    caller: &OrgCaller,
    typed: &str,
    max_days: i64,
    key: &code::CodeKey,
) -> Result<Redeemed, Error> {
    let Some(canonical) = code::canonical(typed) else {
        return Ok(Redeemed::Refused);
    };
    let digest = key.digest(&canonical);
    crate::db::transaction(conn, |conn| {
        let Some(row) = store::active_by_digest(conn, &digest)? else {
            return Ok(Redeemed::Refused);
        };
        let needed = match row.permission() {
            Permission::Read => Scope::SharedRead,
            Permission::Write => Scope::RecordsWrite,
        };
        let access = |allowed: bool, grant_id, reason: Option<String>| Access {
            person_id: row.person_id,
            organisation_id: caller.organisation_id,
            client_id: &caller.client_id,
            grant_id,
            action: "share_codes.redeem",
            resource: format!("share-codes/{}", row.id),
            allowed,
            reason,
        };
        if let Err(refused) = caller.require(needed) {
            // The code stays active: it was given to this organisation, whose client lacks
            // the scope; another of its clients may redeem it.
            access::append(conn, access(false, None, Some(refused.to_string())))?;
            return Err(refused);
        }
        if !store::claim(conn, row.id, caller.organisation_id, &caller.client_id)? {
            return Ok(Redeemed::Refused);
        }
        let input = GrantInput {
            organisation_id: caller.organisation_id.0,
            permission: row.permission(),
            scope: row.scope(),
            purpose: row.purpose.clone(),
            expires_at: row.grant_expires_at.0,
        };
        let grant = match crate::grants::create(conn, row.person_id, input, max_days) {
            // Only the person's records can have changed since the code was made.
            Err(Error::Validation(errors)) => return Err(changed_since(&errors)),
            other => other?,
        };
        store::link_grant(conn, row.id, grant.id.into())?;
        access::append(conn, access(true, Some(grant.id.into()), None))?;
        crate::grants::received_one(conn, caller.organisation_id, grant.id.into())
            .map(Redeemed::Grant)
    })
}

fn changed_since(errors: &[FieldError]) -> Error {
    tracing::debug!(?errors, "a share code's terms no longer hold");
    Error::Conflict(
        "the passport's owner has removed records this code shares: ask them for a new code".into(),
    )
}
