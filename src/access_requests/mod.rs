//! Access requests: an organisation asks a person for a grant — a new starter's
//! pre-employment checks, a rotation, an inspection — and the person approves (the grant is
//! made, on the terms asked or narrower ones) or declines, from their app.
//!
//! - [`model`]: the API's types;
//! - [`terms`]: who may be asked and how, what a profile's scope is, what narrowing means;
//! - [`store`]: the `access_requests` and `blocked_organisations` tables;
//! - [`answers`]: the person approving, declining and blocking;
//! - [`expiry`]: telling organisations of requests that expired unanswered;
//! - this file: asking, listing, withdrawing, and erasure.
//!
//! Asking never tells the organisation whether the addressee holds a passport: the answer, and
//! the request's status until the person answers, are the same either way.

pub mod answers;
pub mod expiry;
pub mod handlers;
pub mod model;
pub mod store;
pub mod terms;

use chrono::Utc;

pub use answers::{approve, block, decline, unblock};
pub use model::*;
pub use store::{AccessRequestRow, blocked, list_for_organisation};

use crate::access::{self, Access};
use crate::auth::{OrgCaller, Scope};
use crate::db::DbConnection;
use crate::db::ids::{AccessRequestId, OrganisationId, PersonId, ProfileId};
use crate::db::types::{Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::grants::{Permission, RecordScope};

/// The most pending requests one addressee may have, from all organisations together.
pub const MAX_PENDING_PER_ADDRESSEE: i64 = 20;

/// The settings a request is made under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest grant a request may ask for, in days.
    pub grant_max_days: i64,
    /// How long a request waits for an answer, in days.
    pub expiry_days: i64,
    /// The most requests one organisation may make in 24 hours.
    pub per_day: i64,
}

/// Makes a request to the addressee. The caller's client needs `shared:read` for a read
/// request and `records:write` for a write request. The request reaches the person the
/// addressee names now or later (one who signs up, or whose email is vouched for, before it
/// expires); the answer is the same whether there is one or not.
pub fn create(
    conn: &mut DbConnection,
    caller: &OrgCaller,
    input: AccessRequestInput,
    limits: Limits,
) -> Result<AccessRequest, Error> {
    caller.require(match input.permission {
        Permission::Read => Scope::SharedRead,
        Permission::Write => Scope::RecordsWrite,
    })?;
    let mut errors = terms::check(&input, limits.grant_max_days);
    let scope = match input.requirement_profile_id {
        Some(profile) if input.scope.is_none() => {
            match crate::compliance::get(conn, caller.organisation_id, ProfileId(profile)) {
                Ok(profile) => {
                    let scope = terms::scope_of_profile(&profile);
                    let now = Utc::now();
                    let unfit = crate::grants::check_terms(
                        &scope,
                        "-",
                        (now + chrono::Duration::days(1), "duration_days"),
                        now,
                        limits.grant_max_days.max(1),
                    );
                    if !unfit.is_empty() {
                        errors.push(FieldError::new(
                            "requirement_profile_id",
                            "this profile's scope is not one a grant can have (more than 100 activity codes?): give scope instead",
                        ));
                    }
                    Some(scope)
                }
                Err(Error::NotFound(_)) => {
                    errors.push(FieldError::new(
                        "requirement_profile_id",
                        "no such requirement profile of your organisation's",
                    ));
                    None
                }
                Err(other) => return Err(other),
            }
        }
        _ => input.scope.clone(),
    };
    let (addressee, Some(scope)) = (terms::addressee_key(&input.addressee), scope) else {
        return Err(Error::Validation(errors));
    };
    let addressee = match addressee {
        Ok(key) if errors.is_empty() => key,
        _ => return Err(Error::Validation(errors)),
    };
    let person_id = addressed(conn, &input.addressee)?;
    let now = Timestamp::now();
    let row = AccessRequestRow {
        id: AccessRequestId::new(),
        organisation_id: caller.organisation_id,
        client_id: caller.client_id.clone(),
        addressee,
        person_id,
        permission: input.permission.as_str().to_owned(),
        scope: Json::of(&trimmed(scope)),
        requirement_profile_id: input.requirement_profile_id.map(ProfileId),
        purpose: input.purpose.trim().to_owned(),
        message: input.message.filter(|m| !m.trim().is_empty()),
        duration_days: i32::try_from(input.duration_days).unwrap_or(i32::MAX),
        status: AccessRequestStatus::Pending.as_str().to_owned(),
        created_at: now,
        expires_at: Timestamp(now.0 + chrono::Duration::days(limits.expiry_days)),
        answered_at: None,
        grant_id: None,
        expiry_told: false,
    };
    // The limits are counted and the request added in one transaction, holding the
    // organisation's and the addressee's locks, so that concurrent requests cannot pass a
    // limit together.
    crate::db::transaction(conn, |conn| {
        store::lock(
            conn,
            &format!("access-requests-from:{}", caller.organisation_id),
        )?;
        store::lock(conn, &format!("access-requests-to:{}", row.addressee))?;
        let since = Utc::now() - chrono::Duration::days(1);
        if store::made_since(conn, caller.organisation_id, since)? >= limits.per_day {
            // The window slides: a slot frees 24 hours after each request.
            return Err(Error::TooManyRequests(3600));
        }
        let (pending, own) = store::pending_to(conn, &row.addressee, caller.organisation_id)?;
        if own {
            return Err(Error::Conflict(
                "your organisation already has a pending request to this addressee: wait for the answer, or cancel it first".into(),
            ));
        }
        if pending >= MAX_PENDING_PER_ADDRESSEE {
            return Err(Error::Conflict(format!(
                "this addressee has {MAX_PENDING_PER_ADDRESSEE} pending requests, the most one may: try again once some are answered"
            )));
        }
        store::insert(conn, &row)
    })?;
    if let Some(person_id) = person_id {
        // Logged off the answer's path, so that asking costs the same whether or not the
        // addressee holds a passport (or has blocked the organisation).
        let asked = row.clone();
        crate::db::deferred::defer(Box::new(move |conn| log_request(conn, &asked, person_id)));
    }
    Ok(row.for_organisation())
}

/// Writes a request to its addressee's access log, unless they have blocked its organisation.
fn log_request(
    conn: &mut DbConnection,
    row: &AccessRequestRow,
    person_id: PersonId,
) -> Result<(), Error> {
    if store::is_blocked(conn, person_id, row.organisation_id)? {
        return Ok(());
    }
    access::append(conn, logged(row, person_id, "access_requests.create"))
}

/// The person the addressee names, if exactly one does: by passport id, or by the email an
/// identity provider vouched for. A registration is only declared, so a request to one is
/// never pinned to whoever declared it first: everyone who declares it finds it at read time,
/// as they find a request whose addressee named nobody (or several people) when it was made.
fn addressed(conn: &mut DbConnection, addressee: &Addressee) -> Result<Option<PersonId>, Error> {
    let found = if let Some(id) = addressee.passport_id {
        let id = PersonId(id);
        if crate::people::store::exists(conn, id)? {
            vec![id]
        } else {
            Vec::new()
        }
    } else if let Some(email) = &addressee.email {
        crate::people::store::with_verified_email(conn, &[email.trim().to_lowercase()])?
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

fn trimmed(mut scope: crate::grants::GrantScope) -> crate::grants::GrantScope {
    if let RecordScope::Selected(selection) = &mut scope.records {
        for code in &mut selection.activity_codes {
            *code = code.trim().to_owned();
        }
    }
    scope
}

/// The access-log entry of a request, or of the person's answer to it, in the name of the
/// organisation and the client that asked.
pub(super) fn logged<'a>(
    row: &'a AccessRequestRow,
    person_id: PersonId,
    action: &'static str,
) -> Access<'a> {
    Access {
        person_id,
        organisation_id: row.organisation_id,
        client_id: &row.client_id,
        grant_id: row.grant_id,
        action,
        resource: format!("access-requests/{}", row.id),
        allowed: true,
        reason: None,
    }
}

/// The person's requests.
pub fn list_for_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    filter: &IncomingFilter,
    page: crate::http::pagination::Page<AccessRequestId>,
) -> Result<crate::http::pagination::List<IncomingAccessRequest>, Error> {
    let keys = terms::keys_of(&crate::people::store::get(conn, person_id)?);
    store::list_for_person(conn, person_id, &keys, (filter, false), page)
}

/// Every request made to the person, from organisations they blocked too: for their export.
pub fn export_for_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    page: crate::http::pagination::Page<AccessRequestId>,
) -> Result<crate::http::pagination::List<IncomingAccessRequest>, Error> {
    let keys = terms::keys_of(&crate::people::store::get(conn, person_id)?);
    let everything = IncomingFilter::default();
    store::list_for_person(conn, person_id, &keys, (&everything, true), page)
}

/// One of the person's requests.
pub fn get_for_person(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AccessRequestId,
) -> Result<IncomingAccessRequest, Error> {
    let keys = terms::keys_of(&crate::people::store::get(conn, person_id)?);
    let (row, name) = store::get_for_person(conn, person_id, &keys, id)?;
    Ok(row.for_person(name))
}

/// Forgets who the person's requests were addressed to: requests to them (answered or not)
/// keep their organisation's side — status, scope, times — with the addressee, the message and
/// the purpose erased, and a pending one expires without a word.
pub fn erase_person(
    conn: &mut DbConnection,
    person: &crate::people::store::PersonRow,
) -> Result<(), Error> {
    // An email or registration someone else also answers to is theirs as much as this
    // person's: requests to it stay for them.
    let mut keys = vec![format!("passport:{}", person.id)];
    for key in terms::keys_of(person).into_iter().skip(1) {
        let shared = if let Some(email) = key.strip_prefix("email:") {
            crate::people::store::with_verified_email(conn, &[email.to_owned()])?
                .iter()
                .any(|(id, _)| *id != person.id)
        } else if let Some(number) = &person.registration_number {
            crate::people::store::others_declaring(conn, number, person.id)?
                .into_iter()
                .any(|(body, number)| {
                    let other = crate::people::store::PersonRow {
                        registration_body: body,
                        registration_number: number,
                        ..person.clone()
                    };
                    terms::keys_of(&other).contains(&key)
                })
        } else {
            false
        };
        if !shared {
            keys.push(key);
        }
    }
    store::erase_person(conn, person.id, &keys)
}

/// One of the organisation's requests.
pub fn get_for_organisation(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: AccessRequestId,
) -> Result<AccessRequest, Error> {
    Ok(store::get_for_organisation(conn, organisation_id, id)?.for_organisation())
}

/// Withdraws one of the organisation's pending requests; 409 for one already answered or
/// expired. The person sees it withdrawn, and their access log says so.
pub fn cancel(
    conn: &mut DbConnection,
    caller: &OrgCaller,
    id: AccessRequestId,
) -> Result<AccessRequest, Error> {
    crate::db::transaction(conn, |conn| {
        let row = store::get_for_organisation(conn, caller.organisation_id, id)?;
        if !store::cancel(conn, caller.organisation_id, id)? {
            return Err(Error::Conflict(format!(
                "this request is {}: only a pending request can be cancelled",
                row.status(Timestamp::now()).as_str()
            )));
        }
        let row = store::get_for_organisation(conn, caller.organisation_id, id)?;
        if let Some(person_id) = row.person_id
            && !store::is_blocked(conn, person_id, row.organisation_id)?
        {
            let cancelled = Access {
                client_id: &caller.client_id,
                ..logged(&row, person_id, "access_requests.cancel")
            };
            access::append(conn, cancelled)?;
        }
        Ok(row.for_organisation())
    })
}
