//! The organisation's view of a person's passport: exactly what its live grants cover, decided
//! from the database on every request, and written to the person's access log before the
//! answer leaves.

pub mod handlers;

use crate::access::{self, Access};
use crate::attainments::Attainment;
use crate::auth::Scope;
use crate::auth::tokens::ClientIdentity;
use crate::db::DbConnection;
use crate::db::ids::{AttainmentId, OrganisationId, PersonId, RecordId};
use crate::error::Error;
use crate::grants::{self, GrantRow, Permission, RecordScope};
use crate::http::pagination::{List, Page};
use crate::organisations;
use crate::records::RecordWithIssuer;
use crate::records::shared::{SharedScope, Viewer};
use crate::records::store::{self, RecordFilter};

/// What an organisation asks to do with a person's data.
pub(crate) struct Request<'a> {
    pub caller: &'a ClientIdentity,
    pub person_id: PersonId,
    pub action: &'static str,
    pub resource: String,
    /// Whether the grants must cover attainments.
    pub attainments: bool,
}

/// The live read grants that allow a request, or why it is refused.
///
/// One indexed query checks the client and finds the grants together; a refusal asks again
/// for the client's status alone, to tell a revoked client (401) from a missing grant (404).
fn authorise(
    conn: &mut DbConnection,
    request: &Request<'_>,
) -> Result<Result<Vec<GrantRow>, Error>, Error> {
    let client_id = request.caller.client_id.as_str();
    let revoked = || Error::Unauthorized("the client has been revoked".into());
    if !request.caller.scopes.contains(Scope::SharedRead) {
        if !organisations::client_is_active(conn, client_id)? {
            return Ok(Err(revoked()));
        }
        return Ok(Err(Error::Forbidden(
            "this needs the `shared:read` scope".into(),
        )));
    }
    let mut live = grants::live_while(
        conn,
        request.person_id,
        OrganisationId(request.caller.organisation_id),
        Permission::Read,
        organisations::active_client(client_id),
    )?;
    if live.is_empty() && !organisations::client_is_active(conn, client_id)? {
        return Ok(Err(revoked()));
    }
    if request.attainments {
        live.retain(|g| g.scope().attainments);
    }
    if live.is_empty() {
        // The same answer whether or not the person exists, so that nobody can probe for passports.
        return Ok(Err(Error::NotFound(
            "no passport shared with your organisation under this id".into(),
        )));
    }
    Ok(Ok(live))
}

pub fn union(grants: &[GrantRow]) -> SharedScope {
    let mut scope = SharedScope::default();
    for grant in grants {
        match grant.scope().records {
            RecordScope::All(_) => scope.all = true,
            RecordScope::Selected(selection) => {
                scope
                    .kinds
                    .extend(selection.kinds.iter().map(|k| k.as_str().to_owned()));
                scope.activity_codes.extend(selection.activity_codes);
                scope
                    .record_ids
                    .extend(selection.record_ids.into_iter().map(RecordId));
            }
        }
    }
    scope
}

/// Runs a read on behalf of an organisation: authorise and read in one read transaction (one
/// moment of the database, never waiting for a writer), then log the attempt either way. An
/// allowed read's event is committed before its answer leaves (see [`access::append`]), so
/// that no read goes unlogged.
pub(crate) fn on_behalf<T>(
    conn: &mut DbConnection,
    request: Request<'_>,
    read: impl FnOnce(&mut DbConnection, &[GrantRow]) -> Result<Result<T, Error>, Error>,
) -> Result<T, Error> {
    let (grant_id, outcome) = crate::db::read_transaction(conn, |conn| {
        Ok(match authorise(conn, &request)? {
            Err(refusal) => (None, Err(refusal)),
            Ok(grants) => (grants.first().map(|g| g.id), read(conn, &grants)?),
        })
    })?;
    access::append(
        conn,
        Access {
            person_id: request.person_id,
            organisation_id: OrganisationId(request.caller.organisation_id),
            client_id: &request.caller.client_id,
            grant_id,
            action: request.action,
            resource: request.resource,
            allowed: outcome.is_ok(),
            reason: outcome.as_ref().err().map(|e| e.to_string()),
        },
    )?;
    outcome
}

/// A person's records as the organisation may see them.
///
/// Queries, in one read transaction: the client's status with the live grants, then the
/// records (one query, indexed on the person); then the access event, committed with other
/// reads' events — three statements in all for an allowed read, whatever the number of
/// records.
pub fn records(
    conn: &mut DbConnection,
    caller: &ClientIdentity,
    person_id: PersonId,
    filter: &RecordFilter,
    page: Page<RecordId>,
) -> Result<List<RecordWithIssuer>, Error> {
    let request = Request {
        caller,
        person_id,
        action: "records.list",
        resource: "records".into(),
        attainments: false,
    };
    on_behalf(conn, request, |conn, grants| {
        Ok(Ok(store::list(
            conn,
            person_id,
            Viewer::Organisation(&union(grants)),
            filter,
            page,
        )?))
    })
}

/// One record, if the organisation's grants cover it.
pub fn record(
    conn: &mut DbConnection,
    caller: &ClientIdentity,
    person_id: PersonId,
    record_id: RecordId,
) -> Result<RecordWithIssuer, Error> {
    let request = Request {
        caller,
        person_id,
        action: "records.read",
        resource: format!("records/{record_id}"),
        attainments: false,
    };
    on_behalf(conn, request, |conn, grants| {
        Ok(
            store::get_shared(conn, person_id, record_id, &union(grants))?.ok_or_else(|| {
                Error::NotFound("no such record within what is shared with you".into())
            }),
        )
    })
}

/// The person's attainments, if a grant covers them; evidence records only where the record
/// scope covers them too.
pub fn attainments(
    conn: &mut DbConnection,
    caller: &ClientIdentity,
    person_id: PersonId,
    page: Page<AttainmentId>,
) -> Result<List<Attainment>, Error> {
    let request = Request {
        caller,
        person_id,
        action: "attainments.list",
        resource: "attainments".into(),
        attainments: true,
    };
    on_behalf(conn, request, |conn, grants| {
        Ok(Ok(crate::attainments::shared(
            conn,
            person_id,
            &union(grants),
            page,
        )?))
    })
}
