//! A page of a statement query, bounded in bytes.
//!
//! A page holds up to 500 statements and, with `attachments=true`, the content of every
//! attachment they declare: unbounded, one page could be gigabytes in one buffer. So a page is
//! measured before it is read. The database gives the size of each statement's text and of
//! each attachment; the page ends after the last statement that fits the budget, and its
//! `more` link continues right after that statement. A page always holds one statement at
//! least, whatever it weighs, or paging could never get past it.

use crate::db::ids::{OrganisationId, StatementId};
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::format;
use super::multipart::{self, Attachment};
use super::query::{Format, StatementsGet};
use super::statements;
use super::store::{self, Filters, Measured, StoredStatement};
use super::v2;
use super::version::XapiVersion;
use crate::db::DbConnection;
use crate::db::types::Timestamp;
use crate::error::Error;

/// A page of statements, ready to send.
#[derive(Debug)]
pub struct Page {
    /// The StatementResult: `{"statements": [...], "more": "..."}`.
    pub json: String,
    /// With `attachments=true`: the content of the attachments the statements declare.
    pub attachments: Vec<Attachment>,
    /// When the newest statement of the page was stored (for `Last-Modified`).
    pub newest: Option<Timestamp>,
}

/// How a page is asked for.
pub struct Request<'a> {
    pub filters: &'a Filters,
    pub limit: i64,
    pub attachments: bool,
    /// The most bytes the answer may have (the JSON, or the whole multipart/mixed body).
    pub budget: usize,
}

/// One page of a statement query: at most `limit` statements, cut short to fit the budget.
/// `shape` gives a statement's text in the format asked for; `more_link` the link that
/// continues after a statement.
pub fn statements_page(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    request: &Request<'_>,
    shape: impl Fn(&str) -> String,
    more_link: impl Fn((Timestamp, StatementId)) -> String,
) -> Result<Page, Error> {
    let link_bytes = |m: &Measured| json_string(&more_link(position(m))).len();
    let (measured, cut) = measured_within_budget(conn, organisation_id, request, &link_bytes)?;
    let rows = read_rows(conn, organisation_id, measured, request.attachments, &shape)?;
    let sizes = exact_sizes(conn, organisation_id, &rows, &link_bytes)?;
    let kept = fitting(sizes.into_iter(), |json, parts| request.fits(json, parts));

    let more = (cut || kept < rows.len())
        .then(|| kept.checked_sub(1).and_then(|last| rows.get(last)))
        .flatten()
        .map(|row| more_link(position(&row.measured)))
        .unwrap_or_default();
    let rows = &rows[..kept];
    let texts: Vec<&str> = rows.iter().filter_map(|row| row.text.as_deref()).collect();
    let json = statement_result(&texts, &more);
    let wanted = rows.iter().flat_map(|row| row.hashes.clone()).collect();
    let attachments = super::stored_attachments(conn, organisation_id, wanted)?;
    let newest = rows.iter().map(|row| row.measured.stored).max();
    Ok(Page {
        json,
        attachments,
        newest,
    })
}

impl Request<'_> {
    /// Whether an answer of `json` bytes of StatementResult and `parts` bytes of attachment
    /// parts stays within the budget.
    fn fits(&self, json: usize, parts: usize) -> bool {
        let body = if self.attachments {
            multipart::envelope_size(json) + parts
        } else {
            json
        };
        body <= self.budget
    }
}

/// A statement of the page as read.
struct Row {
    measured: Measured,
    /// In the format asked for; `None` when the statement was deleted meanwhile.
    text: Option<String>,
    /// The attachments it brings, when they are asked for.
    hashes: Vec<String>,
}

/// The first statements of the query as far as their stored size fits the budget, and
/// whether the query goes on past them. Sizes as stored let no more be read than can be
/// answered; a format may shorten a statement, so the exact cut is made after shaping.
fn measured_within_budget(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    request: &Request<'_>,
    link_bytes: &impl Fn(&Measured) -> usize,
) -> Result<(Vec<Measured>, bool), Error> {
    let mut measured = store::measure(conn, organisation_id, request.filters, request.limit + 1)?;
    let limited = measured.len() as i64 > request.limit;
    measured.truncate(request.limit as usize);
    let considered = fitting(
        measured
            .iter()
            .map(|m| (m.bytes.max(0) as usize, 0, link_bytes(m))),
        |json, parts| request.fits(json, parts),
    );
    let cut = limited || considered < measured.len();
    measured.truncate(considered);
    Ok((measured, cut))
}

/// The measured statements read and shaped, in order. One deleted meanwhile is answered as
/// nothing, and paging still passes it.
fn read_rows(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    measured: Vec<Measured>,
    attachments: bool,
    shape: &impl Fn(&str) -> String,
) -> Result<Vec<Row>, Error> {
    let ids: Vec<StatementId> = measured.iter().map(|m| m.statement_id).collect();
    let mut read: HashMap<StatementId, StoredStatement> = store::read(conn, organisation_id, &ids)?
        .into_iter()
        .map(|s| (s.statement_id, s))
        .collect();
    Ok(measured
        .into_iter()
        .map(|measured| {
            let found = read.remove(&measured.statement_id);
            let text = found.as_ref().map(|s| shape(&s.statement));
            let hashes = match found {
                Some(s) if attachments && s.has_attachments => {
                    statements::declared_attachments(&s.statement)
                }
                _ => Vec::new(),
            };
            Row {
                measured,
                text,
                hashes,
            }
        })
        .collect())
}

/// What each statement adds to the exact answer: its JSON as shaped, the attachment parts it
/// is the first to bring (each part is sent once), and the `more` link should the page end
/// with it.
fn exact_sizes(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    rows: &[Row],
    link_bytes: &impl Fn(&Measured) -> usize,
) -> Result<Vec<(usize, usize, usize)>, Error> {
    let mut all: Vec<String> = rows.iter().flat_map(|row| row.hashes.clone()).collect();
    all.sort();
    all.dedup();
    let sizes = if all.is_empty() {
        Default::default()
    } else {
        store::attachment_sizes(conn, organisation_id, &all)?
    };
    let mut sent = HashSet::new();
    Ok(rows
        .iter()
        .map(|row| {
            let parts = row
                .hashes
                .iter()
                .filter(|h| sent.insert(h.as_str()))
                .filter_map(|h| {
                    let (content_type, length) = sizes.get(h)?;
                    Some(multipart::part_size(
                        content_type,
                        h,
                        (*length).max(0) as usize,
                    ))
                })
                .sum();
            let json = row.text.as_ref().map_or(0, String::len);
            (json, parts, link_bytes(&row.measured))
        })
        .collect())
}

fn position(m: &Measured) -> (Timestamp, StatementId) {
    (m.stored, m.statement_id)
}

/// How many of the statements, in order, make an answer that `fits` (one at least). Each item
/// is a statement's JSON bytes, the bytes of the attachment parts it adds, and the bytes of
/// the `more` link should the page end with it.
fn fitting(
    items: impl Iterator<Item = (usize, usize, usize)>,
    fits: impl Fn(usize, usize) -> bool,
) -> usize {
    let (mut statements, mut parts, mut kept) = (0, 0, 0);
    for (index, (json, added, link)) in items.enumerate() {
        statements += json + usize::from(index > 0);
        parts += added;
        if kept > 0 && !fits(statement_result_size(statements, link), parts) {
            break;
        }
        kept += 1;
    }
    kept
}

fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A StatementResult of statements already in JSON, and the `more` link (empty at the end).
fn statement_result(statements: &[&str], more: &str) -> String {
    format!(
        "{{\"statements\":[{}],\"more\":{}}}",
        statements.join(","),
        json_string(more)
    )
}

/// The bytes of [`statement_result`] for statements of `statements` bytes with their commas,
/// and a `more` link of `more` bytes as a JSON string.
fn statement_result_size(statements: usize, more: usize) -> usize {
    statement_result(&[], "").len() - json_string("").len() + statements + more
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_of_a_statement_result_is_known_before_it_is_made() {
        let statements = ["{\"id\":\"a\"}", "{}", "{\"x\":[1,2]}"];
        let more = "/xapi/statements?limit=2&cursor=abc\"d";
        let commas = statements.len() - 1;
        let bytes: usize = statements.iter().map(|s| s.len()).sum::<usize>() + commas;
        assert_eq!(
            statement_result(&statements, more).len(),
            statement_result_size(bytes, json_string(more).len())
        );
    }

    #[test]
    fn a_page_keeps_what_fits_and_one_statement_at_least() {
        let fits = |budget: usize| move |json: usize, parts: usize| json + parts <= budget;
        let overhead = statement_result_size(0, 2);
        let items = || vec![(10, 0, 2), (10, 5, 2), (10, 0, 2)].into_iter();
        assert_eq!(fitting(items(), fits(1000)), 3);
        // The first alone; then the second's attachment part tips it over.
        assert_eq!(fitting(items(), fits(overhead + 10 + 1 + 10)), 1);
        assert_eq!(fitting(items(), fits(overhead + 10 + 1 + 10 + 5)), 2);
        assert_eq!(fitting(items(), fits(0)), 1);
        assert_eq!(fitting(Vec::new().into_iter(), fits(0)), 0);
    }
}

/// What a statements GET is answered with.
#[derive(Debug)]
pub struct Answered {
    /// One statement, or a StatementResult.
    pub json: String,
    /// When the statement asked for, or the newest of the page, was stored (for
    /// `Last-Modified`); `None` for an empty page.
    pub stored: Option<Timestamp>,
    /// With `attachments=true`: the content of the attachments the statements declare.
    pub attachments: Vec<Attachment>,
}

/// How the answer is to be written.
pub struct Asked<'a> {
    /// The languages of `Accept-Language`, for the canonical format.
    pub languages: &'a [String],
    /// The path under which the service is published, for `more` links.
    pub base_path: &'a str,
    /// The most bytes the answer may have.
    pub budget: usize,
    /// The version the client speaks: statements are answered as its data model has them.
    pub version: XapiVersion,
}

/// Answers a statements GET: one statement by id, or a page of a query.
pub fn statements(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    request: StatementsGet,
    asked: &Asked<'_>,
) -> Result<Answered, Error> {
    match request {
        StatementsGet::One {
            id,
            voided,
            format,
            attachments,
        } => {
            let one = super::statement(conn, organisation_id, id, voided)?;
            let json = shaped(&one.statement, format, asked);
            let attachments = if attachments {
                super::attachments_of(conn, organisation_id, &[&one.statement])?
            } else {
                Vec::new()
            };
            Ok(Answered {
                json,
                stored: Some(one.stored),
                attachments,
            })
        }
        StatementsGet::Query {
            filters,
            limit,
            format,
            attachments,
            params,
        } => {
            let request = Request {
                filters: &filters,
                limit,
                attachments,
                budget: asked.budget,
            };
            let page = statements_page(
                conn,
                organisation_id,
                &request,
                |text| shaped(text, format, asked),
                |after| super::query::more_link(asked.base_path, &params, after),
            )?;
            Ok(Answered {
                json: page.json,
                stored: page.newest,
                attachments: page.attachments,
            })
        }
    }
}

/// A stored statement's text in the format asked for, as the client's version has it.
fn shaped(text: &str, format: Format, asked: &Asked<'_>) -> String {
    if format == Format::Exact && !v2::answer::needs_changing(text, asked.version) {
        return text.to_owned();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut value = match format {
                Format::Exact => value,
                Format::Ids => format::ids(&value),
                Format::Canonical => format::canonical(&value, asked.languages),
            };
            v2::answer::for_version(&mut value, format, asked.version);
            value.to_string()
        }
        Err(_) => text.to_owned(),
    }
}
