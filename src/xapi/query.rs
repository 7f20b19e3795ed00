//! The Statements resource's GET parameters, read as xAPI 1.0.3 defines them (JSON agents,
//! IRIs, timestamps), and the `more` link that continues a query.

use crate::db::ids::StatementId;
use std::cmp::Reverse;
use std::collections::HashMap;

use actix_web::http::header::{LanguageTag, Preference, Quality, QualityItem};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::Filters;
use super::validate;
use crate::db::types::Timestamp;
use crate::error::Error;

/// The most statements one page holds (also the page size for `limit=0` or no limit).
pub const MAX_PAGE: i64 = 500;

/// How statements are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// As received, with what the LRS added.
    #[default]
    Exact,
    /// Agents, activities and verbs reduced to what identifies them.
    Ids,
    /// Language maps reduced to the caller's language.
    Canonical,
}

/// A GET of the Statements resource.
#[derive(Debug, Clone)]
pub enum StatementsGet {
    One {
        id: StatementId,
        voided: bool,
        format: Format,
        attachments: bool,
    },
    Query {
        filters: Filters,
        limit: i64,
        format: Format,
        attachments: bool,
        /// The parameters, for the `more` link.
        params: Vec<(String, String)>,
    },
}

impl StatementsGet {
    /// Whether the answer is to carry the attachments' content (multipart/mixed).
    pub fn attachments(&self) -> bool {
        match self {
            StatementsGet::One { attachments, .. } | StatementsGet::Query { attachments, .. } => {
                *attachments
            }
        }
    }
}

const PARAMETERS: [&str; 15] = [
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "cursor",
];

fn bad(field: &str, message: impl Into<String>) -> Error {
    super::invalid(field, message)
}

fn boolean(field: &str, value: Option<&String>) -> Result<bool, Error> {
    // Some stock clients send Python's `True` and `False`.
    match value.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad(field, "must be true or false")),
    }
}

/// A timestamp parameter (`since`, `until`), when given.
pub(crate) fn time(field: &str, value: Option<&String>) -> Result<Option<Timestamp>, Error> {
    value
        .map(|v| {
            validate::timestamp(v)
                .map(|t| Timestamp::from(t.with_timezone(&Utc)))
                .ok_or_else(|| bad(field, "must be an ISO 8601 timestamp with a time zone"))
        })
        .transpose()
}

/// Reads the query string of a Statements GET.
pub fn parse(query: &str) -> Result<StatementsGet, Error> {
    let (params, mut ordered) = parameters(query)?;
    let format = format(&params)?;
    let attachments = boolean("attachments", params.get("attachments"))?;
    if let Some(one) = one_statement(&params, format, attachments)? {
        return Ok(one);
    }
    let agent = agent(&params)?;
    identifiers(&params)?;
    let limit = limit(&params)?;
    let filters = filters(&params, agent)?;
    // The `more` link carries a cursor of its own.
    ordered.retain(|(name, _)| name != "cursor");
    Ok(StatementsGet::Query {
        filters,
        limit,
        format,
        attachments,
        params: ordered,
    })
}

/// A query's parameters by name.
type Params = HashMap<String, String>;

/// The parameters by name, and in the order given (for the `more` link). Each may be given
/// once, and only those of the Statements resource.
fn parameters(query: &str) -> Result<(Params, Vec<(String, String)>), Error> {
    let mut params = Params::new();
    let mut ordered = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !PARAMETERS.contains(&name.as_ref()) {
            return Err(bad(&name, "is not a parameter of the Statements resource"));
        }
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(bad(&name, "is given more than once"));
        }
        ordered.push((name.to_string(), value.to_string()));
    }
    Ok((params, ordered))
}

fn format(params: &Params) -> Result<Format, Error> {
    match params.get("format").map(String::as_str) {
        None | Some("exact") => Ok(Format::Exact),
        Some("ids") => Ok(Format::Ids),
        Some("canonical") => Ok(Format::Canonical),
        Some(_) => Err(bad("format", "must be ids, exact or canonical")),
    }
}

/// A GET of one statement by `statementId` or `voidedStatementId`, when one is given: it
/// takes no filters.
fn one_statement(
    params: &Params,
    format: Format,
    attachments: bool,
) -> Result<Option<StatementsGet>, Error> {
    for (name, voided) in [("statementId", false), ("voidedStatementId", true)] {
        let Some(value) = params.get(name) else {
            continue;
        };
        if let Some(other) = params
            .keys()
            .find(|k| !matches!(k.as_str(), "format" | "attachments") && k.as_str() != name)
        {
            return Err(bad(
                other,
                format!("cannot be combined with {name}: only format and attachments can"),
            ));
        }
        let id = Uuid::parse_str(value).map_err(|_| bad(name, "must be a UUID"))?;
        return Ok(Some(StatementsGet::One {
            id: StatementId(id),
            voided,
            format,
            attachments,
        }));
    }
    Ok(None)
}

/// The `agent` filter: the identifier (IFI) of the Agent or Group given.
fn agent(params: &Params) -> Result<Option<String>, Error> {
    let Some(text) = params.get("agent") else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| bad("agent", "must be an Agent or Group as JSON"))?;
    validate::actor(&value, "agent").map_err(super::refused)?;
    let ifi = validate::ifi(&value).ok_or_else(|| {
        bad(
            "agent",
            "must be identified (an anonymous Group cannot be queried)",
        )
    })?;
    Ok(Some(ifi))
}

/// The verb and activity filters must be IRIs, the registration a UUID.
fn identifiers(params: &Params) -> Result<(), Error> {
    for name in ["verb", "activity"] {
        if let Some(value) = params.get(name)
            && !validate::is_iri(value)
        {
            return Err(bad(name, "must be an IRI"));
        }
    }
    if let Some(value) = params.get("registration")
        && !validate::is_uuid(value)
    {
        return Err(bad("registration", "must be a UUID"));
    }
    Ok(())
}

fn limit(params: &Params) -> Result<i64, Error> {
    match params.get("limit") {
        None => Ok(MAX_PAGE),
        Some(text) => match text.parse::<u64>() {
            Ok(0) => Ok(MAX_PAGE),
            Ok(n) => Ok((n.min(MAX_PAGE as u64)) as i64),
            Err(_) => Err(bad("limit", "must be a whole number, 0 or more")),
        },
    }
}

fn filters(params: &Params, agent: Option<String>) -> Result<Filters, Error> {
    let ascending = boolean("ascending", params.get("ascending"))?;
    Ok(Filters {
        agent,
        related_agents: boolean("related_agents", params.get("related_agents"))?,
        verb: params.get("verb").cloned(),
        activity: params.get("activity").cloned(),
        related_activities: boolean("related_activities", params.get("related_activities"))?,
        registration: params.get("registration").cloned(),
        since: time("since", params.get("since"))?,
        until: time("until", params.get("until"))?,
        ascending,
        after: params.get("cursor").map(|c| cursor(c)).transpose()?,
    })
}

/// The position after a statement, as the `more` link carries it.
pub fn encode_cursor(stored: Timestamp, id: StatementId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", stored.0.to_rfc3339(), id.0))
}

fn cursor(text: &str) -> Result<(Timestamp, StatementId), Error> {
    let invalid = || bad("cursor", "is not a position this LRS gave in a `more` link");
    let decoded = URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (stored, id) = decoded.split_once('|').ok_or_else(invalid)?;
    let stored = DateTime::parse_from_rfc3339(stored).map_err(|_| invalid())?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((Timestamp::from(stored.with_timezone(&Utc)), StatementId(id)))
}

/// The `more` link: the same query, continued after the last statement of this page.
pub fn more_link(
    base_path: &str,
    params: &[(String, String)],
    after: (Timestamp, StatementId),
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    query.append_pair("cursor", &encode_cursor(after.0, after.1));
    format!("{base_path}/xapi/statements?{}", query.finish())
}

/// The caller's language preferences from `Accept-Language`, best first. Each range is read
/// by actix-web's header types (RFC 7231 weights, RFC 5646 tags, `*`); a range they cannot
/// read, or one weighted q=0 ("not acceptable"), is left out.
pub fn languages(accept_language: Option<&str>) -> Vec<String> {
    let mut ranked: Vec<QualityItem<Preference<LanguageTag>>> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|range| range.trim().parse().ok())
        .filter(|range: &QualityItem<_>| range.quality > Quality::ZERO)
        .collect();
    // Stable: ranges of equal weight keep the order they were sent in.
    ranked.sort_by_key(|range| Reverse(range.quality));
    ranked
        .into_iter()
        .map(|range| range.item.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back() {
        let stored = Timestamp::now();
        let id = StatementId::new();
        assert_eq!(cursor(&encode_cursor(stored, id)).unwrap(), (stored, id));
        assert!(cursor("not-a-cursor").is_err());
    }

    #[test]
    fn languages_follow_their_weights() {
        assert_eq!(
            languages(Some("fr;q=0.5, en-GB, en;q=0.8")),
            vec!["en-GB", "en", "fr"]
        );
        assert!(languages(None).is_empty());
    }
}
