//! The person's data rights: everything held about them, and erasure.

use crate::db::ids::PersonId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Profile;
use crate::access::{self, AccessEvent, AccessFilter};
use crate::access_requests::{self, BlockedOrganisation, IncomingAccessRequest};
use crate::attainments::{self, Attainment, AttainmentFilter};
use crate::credentials::{self, CredentialSummary};
use crate::db::{DbConnection, read_transaction, transaction};
use crate::error::Error;
use crate::grants::{self, Grant, GrantFilter};
use crate::http::pagination::every_page as all;
use crate::records::Record;
use crate::records::store::{self, RecordFilter};
use crate::records::{RecordVersion, Viewer, issued};
use crate::share_codes::{self, ShareCode};

/// A record with its earlier versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedRecord {
    #[serde(flatten)]
    pub record: Record,
    pub history: Vec<RecordVersion>,
}

/// Everything the service holds about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub profile: Profile,
    /// Every record, hidden and voided ones too, each with its history.
    pub records: Vec<ExportedRecord>,
    pub grants: Vec<Grant>,
    /// Every share code (never the codes themselves, which the service does not keep).
    pub share_codes: Vec<ShareCode>,
    /// Every access request made to the person, and the organisations they blocked.
    pub access_requests: Vec<IncomingAccessRequest>,
    pub blocked_organisations: Vec<BlockedOrganisation>,
    pub access_events: Vec<AccessEvent>,
    pub attainments: Vec<Attainment>,
    pub credentials: Vec<CredentialSummary>,
}

/// Everything held about a person, read in one read-only transaction: a consistent snapshot
/// that never holds SQLite's write lock, however large the passport.
pub fn export(conn: &mut DbConnection, person_id: PersonId) -> Result<Export, Error> {
    read_transaction(conn, |conn| {
        let profile = Profile::from(&super::get(conn, person_id)?);
        let rows = all(|page| {
            store::list(
                conn,
                person_id,
                Viewer::Owner,
                &RecordFilter::default(),
                page,
            )
        })?;
        let mut history = issued::history_of_person(conn, person_id)?;
        let records = rows
            .into_iter()
            .map(|(row, issuer)| ExportedRecord {
                history: history.remove(&row.id).unwrap_or_default(),
                record: row.view(issuer),
            })
            .collect();
        Ok(Export {
            exported_at: Utc::now(),
            profile,
            records,
            grants: all(|page| grants::list(conn, person_id, &GrantFilter::default(), page))?,
            share_codes: all(|page| share_codes::list(conn, person_id, page))?,
            access_requests: all(|page| access_requests::export_for_person(conn, person_id, page))?,
            blocked_organisations: access_requests::blocked(conn, person_id)?,
            access_events: all(|page| {
                access::list(conn, person_id, &AccessFilter::default(), page)
            })?,
            attainments: all(|page| {
                attainments::list(conn, person_id, &AttainmentFilter::default(), page)
            })?,
            credentials: all(|page| credentials::list(conn, person_id, page))?,
        })
    })
}

/// Erases a passport: grants end at once; records, attainments, the person's xAPI statements,
/// attachments and documents, and every webhook delivery about them are deleted; credentials are
/// revoked; access events keep only their organisation, client, action and time, so that the
/// audit keeps its count. Organisations that held a grant are sent `person.erased` (redacted
/// once delivered). The person's next sign-in starts an empty passport.
///
/// `public_url` names the passport accounts xAPI statements identify people by.
pub fn erase(conn: &mut DbConnection, person_id: PersonId, public_url: &str) -> Result<(), Error> {
    transaction(conn, |conn| {
        let person = super::get(conn, person_id)?;
        let verified_email = person.email.as_deref().filter(|_| person.email_verified);
        crate::xapi::erase_person(conn, public_url, person_id, verified_email)?;
        credentials::revoke_all(conn, person_id)?;
        crate::outbox::erase_person(conn, person_id)?;
        let organisations = crate::grants::store::organisations_ever(conn, person_id)?;
        crate::outbox::record(
            conn,
            crate::outbox::Event::PersonErased {
                person_id,
                organisations,
            },
        )?;
        crate::webhooks::deliveries::erase_person(conn, person_id)?;
        crate::access::store::erase_person(conn, person_id)?;
        crate::access_requests::erase_person(conn, &person)?;
        // Cascades to records (and their history), grants, attainments (and their
        // verifications); access events and credentials keep their rows without the person.
        super::store::delete(conn, person_id)?;
        Ok(())
    })
}
