//! The document resources: State (an activity's state for an agent, per registration),
//! Activity Profile and Agent Profile. Documents are opaque bytes with a content type; JSON
//! object documents can be merged by POST. ETags (the SHA-1 of the content, as xAPI says) let
//! two clients update one document without losing each other's changes.

use crate::db::ids::OrganisationId;
use diesel::prelude::*;
use serde_json::Value;
use sha1::{Digest, Sha1};

use super::usage::{self, Quotas, Usage};
use crate::db::schema::xapi_documents as docs;
use crate::db::types::Timestamp;
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::http::media_type;

/// Which resource a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    State,
    ActivityProfile,
    AgentProfile,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::State => "state",
            Kind::ActivityProfile => "activity_profile",
            Kind::AgentProfile => "agent_profile",
        }
    }

    /// Profiles must not be overwritten blindly: a PUT of one needs `If-Match` or
    /// `If-None-Match`. (Under 1.0.3 state documents, which belong to one learner's session,
    /// do not: Communication 3.1.s3; 2.0 asks it of them too when they exist: see
    /// [`Preconditions::required_to_replace`].)
    fn requires_precondition(self) -> bool {
        self != Kind::State
    }
}

/// Where documents live: the parts a kind does not use are empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: Kind,
    pub activity_id: String,
    /// The agent's inverse functional identifier.
    pub agent: String,
    pub registration: String,
}

/// A stored document.
#[derive(Debug, Clone, Queryable)]
pub struct Document {
    pub content_type: String,
    pub content: Vec<u8>,
    pub etag: String,
    pub updated: Timestamp,
}

/// What a write's `If-Match` / `If-None-Match` headers ask.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub if_match: Option<Vec<String>>,
    pub if_none_match: Option<Vec<String>>,
    /// Whether a PUT over an existing document of any kind needs one of them: xAPI 2.0 extends
    /// optimistic concurrency to the State resource (1.0.3 asks it of profiles only).
    pub required_to_replace: bool,
}

impl Preconditions {
    fn given(&self) -> bool {
        self.if_match.is_some() || self.if_none_match.is_some()
    }

    fn check(&self, current: Option<&str>) -> Result<(), Error> {
        if let Some(tags) = &self.if_match {
            let matches = current.is_some_and(|etag| {
                tags.iter()
                    .any(|t| t == "*" || t.trim_matches('"') == etag.trim_matches('"'))
            });
            if !matches {
                return Err(Error::PreconditionFailed);
            }
        }
        if let Some(tags) = &self.if_none_match
            && let Some(etag) = current
            && tags
                .iter()
                .any(|t| t == "*" || t.trim_matches('"') == etag.trim_matches('"'))
        {
            return Err(Error::PreconditionFailed);
        }
        Ok(())
    }
}

/// The ETag of some content: its SHA-1, quoted.
pub fn etag(content: &[u8]) -> String {
    let digest = Sha1::digest(content);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn in_scope<'a>(
    organisation_id: OrganisationId,
    scope: &'a Scope,
) -> docs::BoxedQuery<'a, crate::db::MultiBackend> {
    docs::table
        .filter(docs::organisation_id.eq(organisation_id))
        .filter(docs::kind.eq(scope.kind.as_str()))
        .filter(docs::activity_id.eq(&scope.activity_id))
        .filter(docs::agent.eq(&scope.agent))
        .filter(docs::registration.eq(&scope.registration))
        .into_boxed()
}

/// One document, when it exists.
pub fn get(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    scope: &Scope,
    document_id: &str,
) -> Result<Option<Document>, Error> {
    Ok(in_scope(organisation_id, scope)
        .filter(docs::document_id.eq(document_id))
        .select((docs::content_type, docs::content, docs::etag, docs::updated))
        .first(conn)
        .optional()?)
}

/// The ids of the documents in a scope, optionally only those updated after `since`.
pub fn ids(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    scope: &Scope,
    since: Option<Timestamp>,
) -> Result<Vec<String>, Error> {
    let mut query = in_scope(organisation_id, scope).select(docs::document_id);
    if let Some(since) = since {
        query = query.filter(docs::updated.gt(since));
    }
    Ok(query.order(docs::document_id.asc()).load(conn)?)
}

/// How a write treats an existing document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// PUT: replace it.
    Replace,
    /// POST: merge JSON objects (the new properties win); anything else is refused.
    Merge,
}

/// Stores a document; answers its new ETag. A new document beyond the organisation's quota is
/// refused.
#[allow(clippy::too_many_arguments)]
pub fn write(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    scope: &Scope,
    document_id: &str,
    content_type: &str,
    content: Vec<u8>,
    how: Write,
    preconditions: &Preconditions,
    quotas: &Quotas,
) -> Result<String, Error> {
    let is_json = is_json(content_type);
    if is_json && serde_json::from_slice::<Value>(&content).is_err() {
        return Err(super::invalid(
            "body",
            "the Content-Type says JSON but the body is not JSON",
        ));
    }
    transaction(conn, |conn| {
        let current = get(conn, organisation_id, scope, document_id)?;
        preconditions.check(current.as_ref().map(|d| d.etag.as_str()))?;
        let needs_precondition =
            scope.kind.requires_precondition() || preconditions.required_to_replace;
        if how == Write::Replace && needs_precondition && !preconditions.given() {
            // Communication 3.1: 409 over a document that exists; a client must send one of
            // the headers anyway for a profile (3.1.s3.b1), so for a new one the request is
            // malformed.
            match current {
                Some(_) => {
                    return Err(Error::Conflict(
                        "the document exists: send If-Match with its ETag (or If-None-Match: * to create only) so that no one's changes are lost"
                            .into(),
                    ));
                }
                None if scope.kind.requires_precondition() => {
                    return Err(super::invalid(
                        "If-None-Match",
                        "(or `If-Match`) is required to store a profile document: `If-None-Match: *` to create it, `If-Match` with its ETag to replace it",
                    ));
                }
                None => {}
            }
        }
        let added = Usage {
            documents: i64::from(current.is_none()),
            ..Usage::default()
        };
        if current.is_none() {
            // Refused before anything is written; `usage::apply` below decides exactly.
            usage::current(conn, organisation_id)?.admits(&added, quotas)?;
        }
        let (content_type, content) = match (how, current) {
            (Write::Merge, Some(existing)) => merged(&existing, content_type, &content)?,
            _ => (content_type.to_owned(), content),
        };
        let tag = etag(&content);
        let now = Timestamp::now();
        // Replaced whole: one statement each way on both backends, inside the transaction.
        remove(conn, organisation_id, scope, Some(document_id))?;
        diesel::insert_into(docs::table)
            .values((
                docs::organisation_id.eq(organisation_id),
                docs::kind.eq(scope.kind.as_str()),
                docs::activity_id.eq(&scope.activity_id),
                docs::agent.eq(&scope.agent),
                docs::registration.eq(&scope.registration),
                docs::document_id.eq(document_id),
                docs::content_type.eq(&content_type),
                docs::content.eq(&content),
                docs::etag.eq(&tag),
                docs::updated.eq(now),
            ))
            .execute(conn)?;
        usage::apply(conn, organisation_id, added, quotas)?;
        Ok(tag)
    })
}

fn is_json(content_type: &str) -> bool {
    media_type::essence(content_type).as_deref() == Some("application/json")
}

/// A POST onto an existing document: both must be JSON objects.
fn merged(
    existing: &Document,
    content_type: &str,
    content: &[u8],
) -> Result<(String, Vec<u8>), Error> {
    let object = |is: bool, bytes: &[u8]| {
        is.then(|| serde_json::from_slice::<Value>(bytes).ok())
            .flatten()
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
    };
    let (Some(mut base), Some(update)) = (
        object(is_json(&existing.content_type), &existing.content),
        object(is_json(content_type), content),
    ) else {
        return Err(super::invalid(
            "body",
            "POST merges JSON objects: the stored document and the body must both be application/json objects (use PUT to replace it)",
        ));
    };
    base.extend(update);
    let bytes = serde_json::to_vec(&Value::Object(base))
        .map_err(|e| Error::Internal(format!("cannot write merged JSON: {e}")))?;
    Ok(("application/json".to_owned(), bytes))
}

/// Deletes one document (honouring `If-Match`), or every document in the scope when
/// `document_id` is `None`.
pub fn delete(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    scope: &Scope,
    document_id: Option<&str>,
    preconditions: &Preconditions,
) -> Result<(), Error> {
    transaction(conn, |conn| {
        if let Some(id) = document_id
            && preconditions.given()
        {
            let current = get(conn, organisation_id, scope, id)?;
            preconditions.check(current.as_ref().map(|d| d.etag.as_str()))?;
        }
        let removed = remove(conn, organisation_id, scope, document_id)?;
        let change = Usage {
            documents: -(removed as i64),
            ..Usage::default()
        };
        // Deleting is never refused: no quota applies.
        usage::apply(conn, organisation_id, change, &Quotas::UNBOUNDED)
    })
}

/// Deletes a document, or every document in the scope; answers how many there were.
fn remove(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    scope: &Scope,
    document_id: Option<&str>,
) -> Result<usize, Error> {
    let in_scope = docs::table
        .filter(docs::organisation_id.eq(organisation_id))
        .filter(docs::kind.eq(scope.kind.as_str()))
        .filter(docs::activity_id.eq(&scope.activity_id))
        .filter(docs::agent.eq(&scope.agent))
        .filter(docs::registration.eq(&scope.registration));
    Ok(match document_id {
        Some(id) => diesel::delete(in_scope.filter(docs::document_id.eq(id))).execute(conn)?,
        None => diesel::delete(in_scope).execute(conn)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_the_quoted_sha1_of_the_content() {
        assert_eq!(etag(b"abc"), "\"a9993e364706816aba3e25717850c26c9cd0d89d\"");
    }
}
