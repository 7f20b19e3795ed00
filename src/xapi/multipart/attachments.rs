//! The xAPI rules on top of the framing: the statements part first, each attachment part bound to a
//! declaration by its SHA-2, signatures checked (Data 2.4.11 and 2.6).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::mime::{Part, boundary, parse};
use crate::error::FieldError;
use crate::http::media_type;
use crate::xapi::signature;

/// The attachment usageType that marks a JWS signature of its statement (Data 2.6.s4.b1).
pub const SIGNATURE_USAGE_TYPE: &str = "http://adlnet.gov/expapi/attachments/signature";

/// A statement request whose parts satisfied [`receive`].
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The first part: one statement or an array of statements.
    pub statements: Value,
    /// One per distinct attachment part, in the order received.
    pub attachments: Vec<Attachment>,
}

/// Raw attachment data, identified by its SHA-2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Lowercase hex. Statements may spell a sha2 in upper case, so look attachments up
    /// case-insensitively.
    pub sha2: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A statement request's parts checked as xAPI requires (Communication 1.5.2): the first
/// part is application/json (the statement or array of statements, returned parsed); every
/// other part has an `X-Experience-API-Hash` header equal to the SHA-2 (SHA-256, -384 or
/// -512, by hex length) of its body and `Content-Transfer-Encoding: binary`; every
/// attachment declared in the statements, including inside SubStatements, without a fileUrl
/// has a part with its sha2; every part matches a declared attachment; signature attachments
/// (usageType http://adlnet.gov/expapi/attachments/signature) on a statement must have
/// contentType application/octet-stream, must be sent as a part even when they have a
/// fileUrl, and are verified with [`signature::verify`] against the statement that declares
/// them. Answers the statements and the parts keyed by sha2.
pub fn receive(content_type: &str, body: &[u8]) -> Result<Received, FieldError> {
    let boundary = boundary(content_type).ok_or_else(|| {
        FieldError::new(
            "Content-Type",
            "must be multipart/mixed with a valid boundary parameter",
        )
    })?;
    let mut parts = parse(body, &boundary)?.into_iter();
    let first = parts.next().ok_or_else(|| {
        FieldError::new(
            "body",
            "has no parts; the first part must hold the statements",
        )
    })?;
    let statements = statements_part(&first)?;
    let declared = declarations(&statements)?;
    let attachments = attachment_parts(parts, &declared)?;
    let by_hash: HashMap<&str, &Attachment> =
        attachments.iter().map(|a| (a.sha2.as_str(), a)).collect();
    every_declared_part_sent(&declared, &by_hash)?;
    verify_signatures(&statements, &declared, &by_hash)?;
    Ok(Received {
        statements,
        attachments,
    })
}

/// The statements the first part holds.
fn statements_part(first: &Part) -> Result<Value, FieldError> {
    if first
        .header("content-type")
        .and_then(media_type::essence)
        .as_deref()
        != Some("application/json")
    {
        return Err(FieldError::new(
            "part 1",
            "must have Content-Type application/json and hold the statements",
        ));
    }
    serde_json::from_slice(&first.body)
        .map_err(|e| FieldError::new("part 1", format!("is not valid JSON: {e}")))
}

/// The attachment parts after the statements part, each bound to a declared attachment by
/// its hash, once each.
fn attachment_parts(
    parts: impl Iterator<Item = Part>,
    declared: &[Declared],
) -> Result<Vec<Attachment>, FieldError> {
    let declared_hashes: HashSet<&str> = declared.iter().map(|d| d.sha2.as_str()).collect();
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut received = HashSet::new();
    for (i, part) in parts.enumerate() {
        let hash = declared_hash(&part, i + 2, &declared_hashes)?;
        // A repeated copy carries identical bytes (the hash says so); keep one.
        if !received.insert(hash.clone()) {
            continue;
        }
        let content_type = part
            .header("content-type")
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                declared
                    .iter()
                    .find(|d| d.sha2 == hash)
                    .and_then(|d| d.content_type.clone())
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        attachments.push(Attachment {
            sha2: hash,
            content_type,
            body: part.body,
        });
    }
    Ok(attachments)
}

/// The part's `X-Experience-API-Hash` (lowercase), once it is known to be the SHA-2 of the
/// part's binary content and of an attachment the statements declare.
fn declared_hash(
    part: &Part,
    number: usize,
    declared: &HashSet<&str>,
) -> Result<String, FieldError> {
    let hash = part
        .header("x-experience-api-hash")
        .map(|h| h.trim().to_ascii_lowercase())
        .ok_or_else(|| {
            FieldError::new(
                "X-Experience-API-Hash",
                format!("part {number} has no X-Experience-API-Hash header"),
            )
        })?;
    if !part
        .header("content-transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("binary"))
    {
        return Err(FieldError::new(
            "Content-Transfer-Encoding",
            format!("part {number} must have Content-Transfer-Encoding: binary"),
        ));
    }
    let actual = sha2_hex(&hash, &part.body).ok_or_else(|| {
        FieldError::new(
            "X-Experience-API-Hash",
            format!("part {number}: the hash is not a SHA-256, SHA-384 or SHA-512 hex digest"),
        )
    })?;
    if actual != hash {
        return Err(FieldError::new(
            "X-Experience-API-Hash",
            format!("part {number}: the hash does not match the part's content"),
        ));
    }
    if !declared.contains(hash.as_str()) {
        return Err(FieldError::new(
            format!("part {number}"),
            "does not match the sha2 of any attachment declared in the statements",
        ));
    }
    Ok(hash)
}

fn every_declared_part_sent(
    declared: &[Declared],
    by_hash: &HashMap<&str, &Attachment>,
) -> Result<(), FieldError> {
    for d in declared {
        if d.needs_part() && !by_hash.contains_key(d.sha2.as_str()) {
            let why = if d.signature {
                "is a signature but no part carries it, so it cannot be verified"
            } else {
                "has no fileUrl and no part with this hash"
            };
            return Err(FieldError::new(format!("{}.sha2", d.path), why));
        }
    }
    Ok(())
}

/// Each signature attachment verified against the statement that declares it.
fn verify_signatures(
    statements: &Value,
    declared: &[Declared],
    by_hash: &HashMap<&str, &Attachment>,
) -> Result<(), FieldError> {
    for d in declared.iter().filter(|d| d.signature) {
        let statement = match statements {
            Value::Array(batch) => &batch[d.statement],
            single => single,
        };
        // Every signature has a part by now: [`every_declared_part_sent`] made sure.
        let Some(part) = by_hash.get(d.sha2.as_str()) else {
            continue;
        };
        signature::verify(statement, &part.body).map_err(|e| {
            FieldError::new(
                d.path.clone(),
                format!("signature {}: {}", e.field, e.message),
            )
        })?;
    }
    Ok(())
}

/// The sha2 values (lowercase, each once) that need an attachment part: attachments without
/// a fileUrl, including SubStatements', and statement signatures even with a fileUrl
/// because [`receive`] must verify them. For a plain `application/json` request any of these
/// means the request must be refused. Malformed attachment lists are skipped, so validate
/// the statements first.
pub fn declared_without_url(statements: &Value) -> Vec<String> {
    let mut seen = HashSet::new();
    sites(statements, false)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|site| Declared::from_site(site).ok())
        .filter(Declared::needs_part)
        .map(|d| d.sha2)
        .filter(|sha2| seen.insert(sha2.clone()))
        .collect()
}

/// An attachment object as declared in the statements.
pub(super) struct Declared {
    /// Where it is, for error messages, e.g. `statements[1].object.attachments[0]`.
    path: String,
    /// Lowercase.
    sha2: String,
    has_url: bool,
    /// A signature of a whole statement; SubStatements' attachments are never treated as one.
    signature: bool,
    content_type: Option<String>,
    /// Index in the batch.
    statement: usize,
}

impl Declared {
    fn from_site(site: Site<'_>) -> Result<Declared, FieldError> {
        let object = site
            .item
            .as_object()
            .ok_or_else(|| FieldError::new(site.path.clone(), "must be an attachment object"))?;
        let sha2 = object
            .get("sha2")
            .and_then(Value::as_str)
            .ok_or_else(|| FieldError::new(format!("{}.sha2", site.path), "must be a string"))?;
        let signature = site.top_level
            && object.get("usageType").and_then(Value::as_str) == Some(SIGNATURE_USAGE_TYPE);
        Ok(Declared {
            sha2: sha2.trim().to_ascii_lowercase(),
            has_url: object.get("fileUrl").is_some_and(Value::is_string),
            signature,
            content_type: object
                .get("contentType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            statement: site.statement,
            path: site.path,
        })
    }

    fn needs_part(&self) -> bool {
        !self.has_url || self.signature
    }
}

pub(super) fn declarations(statements: &Value) -> Result<Vec<Declared>, FieldError> {
    let mut declared = Vec::new();
    for site in sites(statements, true)? {
        let d = Declared::from_site(site)?;
        // Data 2.6.s4.b1; the conformance suite sends a text/plain signature to be refused.
        if d.signature
            && d.content_type
                .as_deref()
                .and_then(media_type::essence)
                .as_deref()
                != Some("application/octet-stream")
        {
            return Err(FieldError::new(
                format!("{}.contentType", d.path),
                "a signature attachment must have contentType application/octet-stream",
            ));
        }
        declared.push(d);
    }
    Ok(declared)
}

/// Where an attachment object sits in the statements.
pub(super) struct Site<'a> {
    path: String,
    item: &'a Value,
    statement: usize,
    top_level: bool,
}

/// Every attachment object of every statement and of its SubStatement (Data 2.4.4.3.s8.b2:
/// a SubStatement is validated as a Statement, so it may declare attachments whose data
/// travels in the same request). With `strict`, shapes that cannot hold attachments are
/// errors; otherwise they are skipped.
pub(super) fn sites(statements: &Value, strict: bool) -> Result<Vec<Site<'_>>, FieldError> {
    let batch: Vec<(String, &Value)> = match statements {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("statements[{i}]"), s))
            .collect(),
        single => vec![(String::new(), single)],
    };
    let mut found = Vec::new();
    for (index, (prefix, statement)) in batch.into_iter().enumerate() {
        let Some(statement) = statement.as_object() else {
            if strict {
                let what = if prefix.is_empty() { "part 1" } else { &prefix };
                return Err(FieldError::new(
                    what,
                    "must be a statement object or an array of statement objects",
                ));
            }
            continue;
        };
        collect_sites(&mut found, &prefix, statement, index, true, strict)?;
        if let Some(object) = statement.get("object").and_then(Value::as_object)
            && object.get("objectType").and_then(Value::as_str) == Some("SubStatement")
        {
            let path = join(&prefix, "object");
            collect_sites(&mut found, &path, object, index, false, strict)?;
        }
    }
    Ok(found)
}

pub(super) fn collect_sites<'a>(
    found: &mut Vec<Site<'a>>,
    prefix: &str,
    statement: &'a Map<String, Value>,
    index: usize,
    top_level: bool,
    strict: bool,
) -> Result<(), FieldError> {
    let path = join(prefix, "attachments");
    match statement.get("attachments") {
        None => {}
        Some(Value::Array(items)) => found.extend(items.iter().enumerate().map(|(i, item)| Site {
            path: format!("{path}[{i}]"),
            item,
            statement: index,
            top_level,
        })),
        Some(_) if strict => {
            return Err(FieldError::new(
                path,
                "must be an array of attachment objects",
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The hex digest of `body` with the SHA-2 variant that `hash`'s length implies; `None` if
/// `hash` is not lowercase hex of a supported length.
pub(super) fn sha2_hex(hash: &str, body: &[u8]) -> Option<String> {
    if !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let digest = match hash.len() {
        64 => Sha256::digest(body).to_vec(),
        96 => Sha384::digest(body).to_vec(),
        128 => Sha512::digest(body).to_vec(),
        _ => return None,
    };
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}
