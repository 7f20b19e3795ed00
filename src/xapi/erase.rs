//! Erasing a person from every organisation's LRS, as part of erasing their passport.
//!
//! A person is found in statements by the identifiers a statement can name them by: their
//! passport account (`account` with the service's public URL as `homePage` and the passport
//! id as `name`, as the feed reads it) and, when their identity provider vouched for it, their
//! email (`mbox`, or `mbox_sha1sum` of the mailto IRI). Their statements are those whose actor
//! or object is the person: the index rows that are not `related`. A statement that targets
//! another (voiding it, or by StatementRef) carries its target's index rows, so the statements
//! about theirs go with them. Statements of other people that only mention the person (as
//! instructor, team member, or inside a SubStatement) are not theirs, and stay.

use crate::db::ids::{OrganisationId, PersonId, StatementId};
use std::collections::{BTreeMap, HashSet};

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use sha1::{Digest, Sha1};

use super::statements::{self, IndexKind, VOIDED};
use super::store;
use super::usage::{self, Quotas, Usage};
use crate::db::schema::{xapi_attachments, xapi_documents, xapi_statement_index, xapi_statements};
use crate::db::{DbConnection, MultiBackend, transaction};
use crate::error::Error;

/// What erasing a person removed from the LRS, over every organisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedXapi {
    /// Statements: the person's own, and those that void or refer to them.
    pub statements: u64,
    /// Attachments no remaining statement of their organisation declares.
    pub attachments: u64,
    pub attachment_bytes: u64,
    /// State and Agent Profile documents of the person.
    pub documents: u64,
}

/// Rows per `IN (…)` list, and patterns per query: well under SQLite's limits on bound values
/// and on expression depth.
const CHUNK: usize = 500;
const PATTERNS: usize = 50;

/// Removes, in every organisation's LRS, the statements whose actor or object is the person,
/// the statements that void or refer to them, the attachments no remaining statement
/// declares, and the State and Agent Profile documents kept for the person; each
/// organisation's usage is lowered to match. Runs in one transaction (a savepoint inside the
/// caller's).
///
/// `public_url` is the service's public URL (the `homePage` of passport accounts);
/// `verified_email` the email the person's identity provider vouched for, if any: an email
/// that was only typed into the profile names nobody.
pub fn erase_person(
    conn: &mut DbConnection,
    public_url: &str,
    person_id: PersonId,
    verified_email: Option<&str>,
) -> Result<ErasedXapi, Error> {
    let names = identifiers(public_url, person_id, verified_email);
    transaction(conn, |conn| {
        let mut erased = ErasedXapi::default();
        let mut changes: BTreeMap<OrganisationId, Usage> = BTreeMap::new();

        let doomed = statements_of(conn, &names)?;
        for (organisation_id, ids) in &doomed {
            let ids: Vec<StatementId> = ids.iter().copied().collect();
            let declared = declared_attachments(conn, *organisation_id, &ids)?;
            let deleted = delete_statements(conn, *organisation_id, &ids)?;
            let (count, bytes) = delete_unreferenced(conn, *organisation_id, declared)?;
            erased.statements += deleted as u64;
            erased.attachments += count;
            erased.attachment_bytes += bytes as u64;
            let change = changes.entry(*organisation_id).or_default();
            change.statements -= deleted as i64;
            change.attachment_bytes -= bytes;
        }

        for (organisation_id, count) in delete_documents(conn, &names)? {
            erased.documents += count as u64;
            changes.entry(organisation_id).or_default().documents -= count as i64;
        }

        // Last, in one order (by organisation), so that concurrent writers queue on each
        // usage row as briefly as possible and never wait on one another in a cycle.
        for (organisation_id, change) in changes {
            usage::apply(conn, organisation_id, change, &Quotas::UNBOUNDED)?;
        }
        Ok(erased)
    })
}

/// Every agent identifier (as `validate::ifi` renders it) a statement or document can name
/// the person by.
fn identifiers(public_url: &str, person_id: PersonId, verified_email: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let home = public_url.trim_end_matches('/');
    let id = person_id.0;
    // The feed reads any spelling of a UUID as the passport id; so does erasure.
    let spellings = [
        id.hyphenated().to_string(),
        id.simple().to_string(),
        id.urn().to_string(),
        id.braced().to_string(),
    ];
    for home in [home.to_owned(), format!("{home}/")] {
        for name in &spellings {
            names.push(format!("account:{home}|{name}"));
            names.push(format!("account:{home}|{}", name.to_ascii_uppercase()));
        }
    }
    if let Some(email) = verified_email.map(str::trim)
        && let Some((local, domain)) = email.rsplit_once('@')
        && !local.is_empty()
        && !domain.is_empty()
    {
        // The domain of an address is case-insensitive, its local part not quite: the address
        // as vouched for, and all in lower case, as most platforms write it.
        let as_vouched = format!("{local}@{}", domain.to_lowercase());
        let lower = email.to_lowercase();
        for address in [&as_vouched, &lower] {
            names.push(format!("mbox:mailto:{address}"));
        }
        for address in [email, &as_vouched, &lower] {
            let digest = Sha1::digest(format!("mailto:{address}").as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            names.push(format!("mbox_sha1sum:{hex}"));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The statements to erase, by organisation: those whose actor or object is one of `names`
/// (directly, or as the target they refer to), and those voiding them.
fn statements_of(
    conn: &mut DbConnection,
    names: &[String],
) -> Result<BTreeMap<OrganisationId, HashSet<StatementId>>, Error> {
    use xapi_statement_index as ix;
    let found: Vec<(OrganisationId, StatementId)> = ix::table
        // Written as the partial index `xapi_statement_index_agent` is, so that both
        // backends use it: a bound parameter would not match its predicate.
        .filter(sql::<Bool>("kind = 'agent'"))
        .filter(ix::value.eq_any(names))
        .filter(ix::related.eq(false))
        .select((ix::organisation_id, ix::statement_id))
        .distinct()
        .load(conn)?;
    let mut doomed: BTreeMap<OrganisationId, HashSet<StatementId>> = BTreeMap::new();
    for (organisation_id, statement_id) in found {
        doomed
            .entry(organisation_id)
            .or_default()
            .insert(statement_id);
    }
    // A voiding statement stored before its target could not take on the target's rows. A
    // voiding statement cannot itself be voided, so one round finds them all. `voids` has no
    // index: the organisation's voiding statements are found by their verb's.
    for (organisation_id, ids) in &mut doomed {
        let targets: Vec<StatementId> = ids.iter().copied().collect();
        for chunk in targets.chunks(CHUNK) {
            let voiding_statements = ix::table
                .filter(ix::organisation_id.eq(*organisation_id))
                .filter(ix::kind.eq(IndexKind::Verb.as_str()))
                .filter(ix::value.eq(VOIDED))
                .select(ix::statement_id);
            let voiding: Vec<StatementId> = xapi_statements::table
                .filter(xapi_statements::organisation_id.eq(*organisation_id))
                .filter(xapi_statements::statement_id.eq_any(voiding_statements))
                .filter(xapi_statements::voids.eq_any(chunk))
                .select(xapi_statements::statement_id)
                .load(conn)?;
            ids.extend(voiding);
        }
    }
    Ok(doomed)
}

/// The SHA-2s (lowercase) of the attachments these statements declare.
fn declared_attachments(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    ids: &[StatementId],
) -> Result<HashSet<String>, Error> {
    let mut hashes = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let texts: Vec<String> = xapi_statements::table
            .filter(xapi_statements::organisation_id.eq(organisation_id))
            .filter(xapi_statements::statement_id.eq_any(chunk))
            .filter(xapi_statements::has_attachments.eq(true))
            .select(xapi_statements::statement)
            .load(conn)?;
        for text in &texts {
            hashes.extend(statements::declared_attachments(text));
        }
    }
    Ok(hashes)
}

/// Deletes statements with their index rows; answers how many statements there were.
fn delete_statements(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    ids: &[StatementId],
) -> Result<usize, Error> {
    let mut deleted = 0;
    for chunk in ids.chunks(CHUNK) {
        // Explicitly, not by the foreign key's cascade: SQLite honours that only on
        // connections that turned foreign keys on.
        diesel::delete(
            xapi_statement_index::table
                .filter(xapi_statement_index::organisation_id.eq(organisation_id))
                .filter(xapi_statement_index::statement_id.eq_any(chunk)),
        )
        .execute(conn)?;
        deleted += diesel::delete(
            xapi_statements::table
                .filter(xapi_statements::organisation_id.eq(organisation_id))
                .filter(xapi_statements::statement_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}

diesel::define_sql_function! {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

type Condition = Box<dyn BoxableExpression<xapi_statements::table, MultiBackend, SqlType = Bool>>;

/// Deletes those of `candidates` that no remaining statement of the organisation declares;
/// answers how many, and their bytes.
fn delete_unreferenced(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    candidates: HashSet<String>,
) -> Result<(u64, i64), Error> {
    let mut unreferenced = candidates.clone();
    let candidates: Vec<String> = candidates.into_iter().collect();
    for chunk in candidates.chunks(PATTERNS) {
        // No index says which statements declare an attachment: the text search narrows the
        // statements with attachments to those that may, and reading them decides.
        let mut condition: Option<Condition> = None;
        for sha2 in chunk {
            let one = lower(xapi_statements::statement).like(format!("%{sha2}%"));
            condition = Some(match condition {
                None => Box::new(one),
                Some(other) => Box::new(other.or(one)),
            });
        }
        let Some(condition) = condition else {
            continue;
        };
        let texts: Vec<String> = xapi_statements::table
            .filter(xapi_statements::organisation_id.eq(organisation_id))
            .filter(xapi_statements::has_attachments.eq(true))
            .filter(condition)
            .select(xapi_statements::statement)
            .load(conn)?;
        for text in &texts {
            for sha2 in statements::declared_attachments(text) {
                unreferenced.remove(&sha2);
            }
        }
    }
    let unreferenced: Vec<String> = unreferenced.into_iter().collect();
    let (mut count, mut bytes) = (0, 0);
    for chunk in unreferenced.chunks(CHUNK) {
        let deleted: Vec<(String, i32)> = crate::on_backend!(conn, |c| diesel::delete(
            xapi_attachments::table
                .filter(xapi_attachments::organisation_id.eq(organisation_id))
                .filter(xapi_attachments::sha2.eq_any(chunk)),
        )
        .returning((
            xapi_attachments::sha2,
            store::byte_length(xapi_attachments::content)
        ))
        .get_results(c))?;
        count += deleted.len() as u64;
        bytes += deleted.iter().map(|(_, n)| i64::from(*n)).sum::<i64>();
    }
    Ok((count, bytes))
}

/// Deletes the State and Agent Profile documents kept for any of `names`, in every
/// organisation; answers how many each organisation had.
fn delete_documents(
    conn: &mut DbConnection,
    names: &[String],
) -> Result<BTreeMap<OrganisationId, usize>, Error> {
    use xapi_documents as docs;
    let owners: Vec<OrganisationId> = crate::on_backend!(conn, |c| diesel::delete(
        docs::table
            // Written as the partial index `xapi_documents_agent` is (see `statements_of`).
            .filter(sql::<Bool>("agent <> ''"))
            .filter(docs::agent.eq_any(names)),
    )
    .returning(docs::organisation_id)
    .get_results(c))?;
    let mut counts: BTreeMap<OrganisationId, usize> = BTreeMap::new();
    for organisation_id in owners {
        *counts.entry(organisation_id).or_default() += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> PersonId {
        PersonId(uuid::Uuid::parse_str("0190f6a2-7c4e-7b1a-9d2e-3f4a5b6c7d8e").unwrap())
    }

    #[test]
    fn a_person_is_named_by_their_passport_account_with_or_without_a_trailing_slash() {
        let names = identifiers("https://passport.example/", person(), None);
        for expected in [
            "account:https://passport.example|0190f6a2-7c4e-7b1a-9d2e-3f4a5b6c7d8e",
            "account:https://passport.example/|0190f6a2-7c4e-7b1a-9d2e-3f4a5b6c7d8e",
            "account:https://passport.example|0190F6A2-7C4E-7B1A-9D2E-3F4A5B6C7D8E",
        ] {
            assert!(
                names.contains(&expected.to_owned()),
                "{expected} in {names:?}"
            );
        }
        assert!(names.iter().all(|n| n.starts_with("account:")));
    }

    #[test]
    fn a_vouched_email_names_the_person_by_mbox_and_by_its_sha1() {
        let names = identifiers(
            "https://passport.example",
            person(),
            Some("Ann@Example.ORG"),
        );
        assert!(names.contains(&"mbox:mailto:Ann@example.org".to_owned()));
        assert!(names.contains(&"mbox:mailto:ann@example.org".to_owned()));
        // SHA-1 of "mailto:ann@example.org".
        let digest = Sha1::digest(b"mailto:ann@example.org");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert!(names.contains(&format!("mbox_sha1sum:{hex}")));
        assert!(
            identifiers("https://passport.example", person(), Some("not an email"))
                .iter()
                .all(|n| n.starts_with("account:"))
        );
    }
}
