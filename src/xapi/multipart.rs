//! `multipart/mixed` statement requests and responses with attachments (xAPI 1.0.3,
//! Communication 1.5.2; Data 2.4.11 and 2.6).
//!
//! Line ends: RFC 2046 and the spec's example use CRLF, and [`build`] always writes CRLF.
//! [`parse`] also accepts bare LF line ends. That is safe here because every attachment
//! part is bound to its SHA-2: if a lone LF ever framed a part differently from what the
//! sender meant, the hash check in [`receive`] refuses the request, and nothing is stored
//! wrongly.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::signature;
use crate::error::FieldError;

/// The attachment usageType that marks a JWS signature of its statement (Data 2.6.s4.b1).
pub const SIGNATURE_USAGE_TYPE: &str = "http://adlnet.gov/expapi/attachments/signature";

/// One body part of a multipart message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Header names are lowercased, values trimmed; order and repeats are kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    /// The first value of a header, whatever the case of `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

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

/// The boundary parameter of a `multipart/mixed; boundary=...` Content-Type (quoted or not).
/// `None` when the type is not multipart/mixed or the boundary is missing or not a valid
/// RFC 2046 boundary.
pub fn boundary(content_type: &str) -> Option<String> {
    let (media, parameters) = split_content_type(content_type)?;
    if !media.eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    let (_, value) = parameters
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))?;
    valid_boundary(&value).then_some(value)
}

/// Splits a multipart body (RFC 2046: CRLF line ends; tolerate a preamble and epilogue).
/// Bare LF line ends are accepted too (see the module notes).
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, FieldError> {
    if !valid_boundary(boundary) {
        return Err(FieldError::new(
            "Content-Type",
            "the multipart boundary is empty, too long or has characters RFC 2046 forbids",
        ));
    }
    let dash_boundary = [b"--", boundary.as_bytes()].concat();
    let Some(mut delimiter) = next_delimiter(body, &dash_boundary, 0) else {
        return Err(FieldError::new(
            "body",
            "does not contain the boundary given in Content-Type",
        ));
    };
    let mut parts = Vec::new();
    while !delimiter.closing {
        let start = delimiter.next_part;
        let Some(next) = next_delimiter(body, &dash_boundary, start) else {
            return Err(FieldError::new(
                "body",
                "ends without the closing boundary (--boundary--)",
            ));
        };
        // An empty part has its delimiter's line break right at `start`.
        let end = next.content_end.max(start);
        parts.push(parse_part(&body[start..end], parts.len() + 1)?);
        delimiter = next;
    }
    Ok(parts)
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
    if first.header("content-type").map(media_type).as_deref() != Some("application/json") {
        return Err(FieldError::new(
            "part 1",
            "must have Content-Type application/json and hold the statements",
        ));
    }
    let statements: Value = serde_json::from_slice(&first.body)
        .map_err(|e| FieldError::new("part 1", format!("is not valid JSON: {e}")))?;
    let declared = declarations(&statements)?;
    let declared_hashes: HashSet<&str> = declared.iter().map(|d| d.sha2.as_str()).collect();

    let mut attachments: Vec<Attachment> = Vec::new();
    let mut by_hash: HashMap<String, usize> = HashMap::new();
    for (i, part) in parts.enumerate() {
        let number = i + 2;
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
        if !declared_hashes.contains(hash.as_str()) {
            return Err(FieldError::new(
                format!("part {number}"),
                "does not match the sha2 of any attachment declared in the statements",
            ));
        }
        // A repeated copy carries identical bytes (the hash says so); keep one.
        if by_hash.contains_key(&hash) {
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
        by_hash.insert(hash.clone(), attachments.len());
        attachments.push(Attachment {
            sha2: hash,
            content_type,
            body: part.body,
        });
    }

    for d in &declared {
        if d.needs_part() && !by_hash.contains_key(&d.sha2) {
            let why = if d.signature {
                "is a signature but no part carries it, so it cannot be verified"
            } else {
                "has no fileUrl and no part with this hash"
            };
            return Err(FieldError::new(format!("{}.sha2", d.path), why));
        }
    }

    for d in declared.iter().filter(|d| d.signature) {
        let statement = match &statements {
            Value::Array(batch) => &batch[d.statement],
            single => single,
        };
        // Every signature needs a part, which the loop above has just ensured.
        let Some(&index) = by_hash.get(&d.sha2) else {
            continue;
        };
        signature::verify(statement, &attachments[index].body).map_err(|e| {
            FieldError::new(
                d.path.clone(),
                format!("signature {}: {}", e.field, e.message),
            )
        })?;
    }

    Ok(Received {
        statements,
        attachments,
    })
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

/// A statement response with attachments: the JSON first, then one part per attachment with
/// Content-Type, Content-Transfer-Encoding: binary and X-Experience-API-Hash. Answers
/// (content type header value with a fresh boundary, body bytes).
pub fn build(json: &[u8], attachments: &[Attachment]) -> (String, Vec<u8>) {
    let mut seen = HashSet::new();
    let attachments: Vec<&Attachment> = attachments
        .iter()
        // Communication 1.5.2.s2.b2.b5: one copy of data shared by several statements.
        .filter(|a| seen.insert(a.sha2.to_ascii_lowercase()))
        .collect();
    let boundary = fresh_boundary(json, &attachments);

    let size = envelope_size(json.len())
        + attachments
            .iter()
            .map(|a| part_size(&a.content_type, &a.sha2, a.body.len()))
            .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(json_head(&boundary).as_bytes());
    out.extend_from_slice(json);
    for a in &attachments {
        out.extend_from_slice(part_head(&boundary, &a.content_type, &a.sha2).as_bytes());
        out.extend_from_slice(&a.body);
    }
    out.extend_from_slice(closing(&boundary).as_bytes());
    (format!("multipart/mixed; boundary={boundary}"), out)
}

/// The bytes of an answer [`build`] makes, but for its attachment parts: the JSON of
/// `json_len` bytes and the framing around it.
pub fn envelope_size(json_len: usize) -> usize {
    let boundary = sized_boundary();
    json_head(&boundary).len() + json_len + closing(&boundary).len()
}

/// The bytes one attachment part adds to an answer [`build`] makes.
pub fn part_size(content_type: &str, sha2: &str, body_len: usize) -> usize {
    part_head(&sized_boundary(), content_type, sha2).len() + body_len
}

fn json_head(boundary: &str) -> String {
    format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n")
}

fn part_head(boundary: &str, content_type: &str, sha2: &str) -> String {
    // Both values can come from client-supplied statements; a CR or LF in them would forge
    // headers.
    let content_type = header_safe(content_type).unwrap_or("application/octet-stream");
    let sha2 = header_safe(sha2).unwrap_or_default();
    format!(
        "\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\
         Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
    )
}

fn closing(boundary: &str) -> String {
    format!("\r\n--{boundary}--\r\n")
}

struct Delimiter {
    /// Where the content before this delimiter ends (its line break excluded).
    content_end: usize,
    /// Where the part after it starts, past the delimiter line.
    next_part: usize,
    closing: bool,
}

/// The next `--boundary` at the start of a line from `from` on. A line that merely starts
/// with the boundary and goes on with other text is content, not a delimiter.
fn next_delimiter(body: &[u8], dash_boundary: &[u8], from: usize) -> Option<Delimiter> {
    let mut search = from;
    while let Some(found) = find(&body[search..], dash_boundary) {
        let at = search + found;
        search = at + 1;
        if at > 0 && body[at - 1] != b'\n' {
            continue;
        }
        let content_end = if at >= 2 && body[at - 2] == b'\r' {
            at - 2
        } else {
            at.saturating_sub(1)
        };
        let mut after = at + dash_boundary.len();
        let closing = body[after..].starts_with(b"--");
        if closing {
            after += 2;
        }
        // RFC 2046 transport padding.
        while matches!(body.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        let rest = &body[after..];
        let next_part = if rest.starts_with(b"\r\n") {
            after + 2
        } else if rest.starts_with(b"\n") {
            after + 1
        } else if closing {
            // The epilogue may be missing altogether, line break included.
            after
        } else {
            continue;
        };
        return Some(Delimiter {
            content_end,
            next_part,
            closing,
        });
    }
    None
}

fn parse_part(content: &[u8], number: usize) -> Result<Part, FieldError> {
    let malformed = || FieldError::new(format!("part {number}"), "has a malformed header line");
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    loop {
        let Some(length) = content[at..].iter().position(|&b| b == b'\n') else {
            // Headers with no blank line after them: RFC 2046 allows a part with no body.
            if at < content.len() {
                push_header(&mut headers, &content[at..]).ok_or_else(malformed)?;
            }
            return Ok(Part {
                headers,
                body: Vec::new(),
            });
        };
        let line = &content[at..at + length];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += length + 1;
        if line.is_empty() {
            return Ok(Part {
                headers,
                body: content[at..].to_vec(),
            });
        }
        push_header(&mut headers, line).ok_or_else(malformed)?;
    }
}

fn push_header(headers: &mut Vec<(String, String)>, line: &[u8]) -> Option<()> {
    let line = std::str::from_utf8(line).ok()?;
    if line.starts_with([' ', '\t']) {
        // RFC 5322 folding: the line continues the previous header's value.
        let (_, value) = headers.last_mut()?;
        value.push(' ');
        value.push_str(line.trim());
        return Some(());
    }
    let (name, value) = line.split_once(':')?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    Some(())
}

/// An attachment object as declared in the statements.
struct Declared {
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

fn declarations(statements: &Value) -> Result<Vec<Declared>, FieldError> {
    let mut declared = Vec::new();
    for site in sites(statements, true)? {
        let d = Declared::from_site(site)?;
        // Data 2.6.s4.b1; the conformance suite sends a text/plain signature to be refused.
        if d.signature
            && d.content_type.as_deref().map(media_type).as_deref()
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
struct Site<'a> {
    path: String,
    item: &'a Value,
    statement: usize,
    top_level: bool,
}

/// Every attachment object of every statement and of its SubStatement (Data 2.4.4.3.s8.b2:
/// a SubStatement is validated as a Statement, so it may declare attachments whose data
/// travels in the same request). With `strict`, shapes that cannot hold attachments are
/// errors; otherwise they are skipped.
fn sites(statements: &Value, strict: bool) -> Result<Vec<Site<'_>>, FieldError> {
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

fn collect_sites<'a>(
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The hex digest of `body` with the SHA-2 variant that `hash`'s length implies; `None` if
/// `hash` is not lowercase hex of a supported length.
fn sha2_hex(hash: &str, body: &[u8]) -> Option<String> {
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

/// The lowercase type/subtype of a Content-Type value, parameters dropped.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The media type and its parameters; quoted values are unquoted. `None` on an unterminated
/// quote.
fn split_content_type(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let (media, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let mut parameters = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            break;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim().to_owned();
        rest = &rest[name_end..];
        let Some(after_equals) = rest.strip_prefix('=') else {
            continue;
        };
        let after_equals = after_equals.trim_start();
        let value;
        if let Some(quoted) = after_equals.strip_prefix('"') {
            let mut unquoted = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => unquoted.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => unquoted.push(c),
                }
            }
            value = unquoted;
            rest = &quoted[end?..];
        } else {
            let end = after_equals.find(';').unwrap_or(after_equals.len());
            value = after_equals[..end].trim().to_owned();
            rest = &after_equals[end..];
        }
        parameters.push((name, value));
    }
    Some((media.trim().to_owned(), parameters))
}

/// RFC 2046 5.1.1: 1 to 70 of `bchars`, not ending in a space.
fn valid_boundary(boundary: &str) -> bool {
    (1..=70).contains(&boundary.len())
        && !boundary.ends_with(' ')
        && boundary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b))
}

fn fresh_boundary(json: &[u8], attachments: &[&Attachment]) -> String {
    let mut rng = rand::thread_rng();
    loop {
        let candidate = boundary_from(rng.r#gen::<u128>());
        // 128 random bits make a clash absurdly unlikely, but it costs little to be sure.
        let clashes = find(json, candidate.as_bytes()).is_some()
            || attachments
                .iter()
                .any(|a| find(&a.body, candidate.as_bytes()).is_some());
        if !clashes {
            return candidate;
        }
    }
}

/// Every boundary has the same length, so that an answer's size is known before it is built.
fn boundary_from(random: u128) -> String {
    format!("xapi-{random:032x}")
}

fn sized_boundary() -> String {
    boundary_from(0)
}

fn header_safe(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
    .then_some(value)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &[u8] = b"here is a simple attachment";
    // The spec's example hash of TEXT (Communication 1.5.2.s6).
    const TEXT_SHA256: &str = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a";
    const BOUNDARY: &str = "-------314159265358979323846";

    fn attachment(sha2: &str) -> Value {
        json!({
            "usageType": "http://example.com/attachment-usage/test",
            "display": {"en-US": "A test attachment"},
            "contentType": "text/plain",
            "length": 27,
            "sha2": sha2
        })
    }

    fn statement(attachments: Value) -> Value {
        json!({
            "actor": {"mbox": "mailto:sample.agent@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "http://www.example.com/tincan/activities/multipart"},
            "attachments": attachments
        })
    }

    /// A message with the given parts, each `(header lines, body)`, and line end `eol`.
    fn message(boundary: &str, eol: &str, parts: &[(Vec<String>, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (headers, body) in parts {
            out.extend_from_slice(format!("--{boundary}{eol}").as_bytes());
            for h in headers {
                out.extend_from_slice(format!("{h}{eol}").as_bytes());
            }
            out.extend_from_slice(eol.as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(format!("--{boundary}--{eol}").as_bytes());
        out
    }

    fn json_part(statements: &Value) -> (Vec<String>, Vec<u8>) {
        (
            vec!["Content-Type: application/json".to_owned()],
            statements.to_string().into_bytes(),
        )
    }

    fn data_part(hash: &str, body: &[u8]) -> (Vec<String>, Vec<u8>) {
        (
            vec![
                "Content-Type: text/plain".to_owned(),
                "Content-Transfer-Encoding: binary".to_owned(),
                format!("X-Experience-API-Hash: {hash}"),
            ],
            body.to_vec(),
        )
    }

    fn content_type() -> String {
        format!("multipart/mixed; boundary={BOUNDARY}")
    }

    fn sha256(body: &[u8]) -> String {
        sha2_hex(&"0".repeat(64), body).unwrap()
    }

    #[test]
    fn reads_the_boundary_parameter() {
        assert_eq!(
            boundary("multipart/mixed; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Mixed;BOUNDARY=abc ; charset=x").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary(r#"multipart/mixed; boundary="abcABC0123'()+_,-./:=?""#).as_deref(),
            Some("abcABC0123'()+_,-./:=?")
        );
        assert_eq!(
            boundary(r#"multipart/mixed; charset="a;b"; boundary="x y""#).as_deref(),
            Some("x y")
        );
        assert_eq!(boundary("multipart/mixed;"), None);
        assert_eq!(boundary("multipart/form-data; boundary=abc"), None);
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary(r#"multipart/mixed; boundary="abc"#), None);
        assert_eq!(boundary("multipart/mixed; boundary="), None);
        assert_eq!(
            boundary(&format!("multipart/mixed; boundary={}", "a".repeat(71))),
            None
        );
    }

    #[test]
    fn accepts_a_good_request_with_one_attachment() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let body = message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        );
        let received = receive(&content_type(), &body).unwrap();
        assert_eq!(received.statements, statements);
        assert_eq!(
            received.attachments,
            vec![Attachment {
                sha2: TEXT_SHA256.to_owned(),
                content_type: "text/plain".to_owned(),
                body: TEXT.to_vec(),
            }]
        );
    }

    #[test]
    fn accepts_the_conformance_suites_framing() {
        // As the ADL suite sends it: no preamble, headers without a space after the colon,
        // the JSON unterminated by a line break of its own, no CRLF after the close.
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let body = [
            format!("--{BOUNDARY}\r\nContent-Type:application/json\r\n\r\n{statements}").as_bytes(),
            format!(
                "\r\n--{BOUNDARY}\r\nContent-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\n\
                 X-Experience-API-Hash:{TEXT_SHA256}\r\n\r\n"
            )
            .as_bytes(),
            TEXT,
            format!("\r\n--{BOUNDARY}--").as_bytes(),
        ]
        .concat();
        let received = receive(&content_type(), &body).unwrap();
        assert_eq!(received.attachments[0].body, TEXT);
    }

    #[test]
    fn tolerates_preamble_and_epilogue() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let mut body = b"This is a preamble.\r\n".to_vec();
        body.extend(message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        ));
        body.extend_from_slice(b"and an epilogue\r\n");
        assert!(receive(&content_type(), &body).is_ok());
    }

    #[test]
    fn refuses_a_part_without_hash_header() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let mut part = data_part(TEXT_SHA256, TEXT);
        part.0.pop();
        let body = message(BOUNDARY, "\r\n", &[json_part(&statements), part]);
        let error = receive(&content_type(), &body).unwrap_err();
        assert_eq!(error.field, "X-Experience-API-Hash");
        assert!(error.message.contains("part 2"), "{}", error.message);
    }

    #[test]
    fn refuses_a_hash_that_does_not_match_the_data() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let body = message(
            BOUNDARY,
            "\r\n",
            &[
                json_part(&statements),
                data_part(TEXT_SHA256, b"other data"),
            ],
        );
        let error = receive(&content_type(), &body).unwrap_err();
        assert_eq!(error.field, "X-Experience-API-Hash");
        assert!(
            error.message.contains("does not match"),
            "{}",
            error.message
        );
    }

    #[test]
    fn refuses_a_hash_that_is_not_sha2_hex() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        for hash in ["abc", &"g".repeat(64), &"0".repeat(56)] {
            let body = message(
                BOUNDARY,
                "\r\n",
                &[json_part(&statements), data_part(hash, TEXT)],
            );
            assert_eq!(
                receive(&content_type(), &body).unwrap_err().field,
                "X-Experience-API-Hash"
            );
        }
    }

    #[test]
    fn refuses_a_part_without_binary_transfer_encoding() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        for encoding in [None, Some("base64")] {
            let mut part = data_part(TEXT_SHA256, TEXT);
            part.0.remove(1);
            if let Some(encoding) = encoding {
                part.0
                    .push(format!("Content-Transfer-Encoding: {encoding}"));
            }
            let body = message(BOUNDARY, "\r\n", &[json_part(&statements), part]);
            let error = receive(&content_type(), &body).unwrap_err();
            assert_eq!(error.field, "Content-Transfer-Encoding");
        }
    }

    #[test]
    fn refuses_an_undeclared_part() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let extra = b"here is another simple attachment";
        let body = message(
            BOUNDARY,
            "\r\n",
            &[
                json_part(&statements),
                data_part(TEXT_SHA256, TEXT),
                data_part(&sha256(extra), extra),
            ],
        );
        let error = receive(&content_type(), &body).unwrap_err();
        assert_eq!(error.field, "part 3");
    }

    #[test]
    fn refuses_a_declared_attachment_without_a_part() {
        let other = sha256(b"missing");
        let statements = statement(json!([attachment(TEXT_SHA256), attachment(&other)]));
        let body = message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        );
        let error = receive(&content_type(), &body).unwrap_err();
        assert_eq!(error.field, "attachments[1].sha2");
    }

    #[test]
    fn file_url_attachments_need_no_part() {
        let mut declared = attachment(TEXT_SHA256);
        declared["fileUrl"] = json!("http://over.there.com/file.txt");
        let statements = statement(json!([declared]));
        let body = message(BOUNDARY, "\r\n", &[json_part(&statements)]);
        let received = receive(&content_type(), &body).unwrap();
        assert!(received.attachments.is_empty());
        assert!(declared_without_url(&statements).is_empty());

        // Sending the data anyway is fine: it matches a declared attachment.
        let body = message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        );
        assert_eq!(
            receive(&content_type(), &body).unwrap().attachments.len(),
            1
        );
    }

    #[test]
    fn accepts_a_quoted_boundary_with_special_characters() {
        let special = "abcABC0123'()+_,-./:=?";
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let body = message(
            special,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        );
        let header = format!("multipart/mixed; boundary=\"{special}\"");
        assert_eq!(receive(&header, &body).unwrap().attachments.len(), 1);
    }

    #[test]
    fn tolerates_lf_only_line_ends() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let body = message(
            BOUNDARY,
            "\n",
            &[json_part(&statements), data_part(TEXT_SHA256, TEXT)],
        );
        assert!(!body.contains(&b'\r'));
        let received = receive(&content_type(), &body).unwrap();
        assert_eq!(received.attachments[0].body, TEXT);
    }

    #[test]
    fn keeps_binary_data_exactly() {
        // Line breaks and near-boundaries inside the data must survive.
        let data: Vec<u8> = [
            b"\r\n--".as_slice(),
            BOUNDARY.as_bytes(),
            b"x\r\n\n\r\0\xff--\r\n",
        ]
        .concat();
        let hash = sha256(&data);
        let statements = statement(json!([attachment(&hash)]));
        let body = message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(&hash, &data)],
        );
        assert_eq!(
            receive(&content_type(), &body).unwrap().attachments[0].body,
            data
        );
    }

    #[test]
    fn refuses_bad_framing() {
        let statements = statement(json!([]));
        let good = message(BOUNDARY, "\r\n", &[json_part(&statements)]);
        assert!(receive(&content_type(), &good).is_ok());

        let unclosed = &good[..good.len() - format!("--{BOUNDARY}--\r\n").len()];
        assert_eq!(
            receive(&content_type(), unclosed).unwrap_err().field,
            "body"
        );
        assert_eq!(receive(&content_type(), b"{}").unwrap_err().field, "body");
        assert_eq!(
            receive(&content_type(), format!("--{BOUNDARY}--").as_bytes())
                .unwrap_err()
                .field,
            "body"
        );
        assert_eq!(
            receive("multipart/mixed", &good).unwrap_err().field,
            "Content-Type"
        );
        assert_eq!(
            receive("application/json", &good).unwrap_err().field,
            "Content-Type"
        );
    }

    #[test]
    fn refuses_a_first_part_that_is_not_json_statements() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let mut first = json_part(&statements);
        first.0 = vec!["Content-Type: text/plain".to_owned()];
        let body = message(BOUNDARY, "\r\n", &[first, data_part(TEXT_SHA256, TEXT)]);
        assert_eq!(receive(&content_type(), &body).unwrap_err().field, "part 1");

        let not_json = (
            vec!["Content-Type: application/json; charset=utf-8".to_owned()],
            b"{not json".to_vec(),
        );
        let body = message(BOUNDARY, "\r\n", &[not_json]);
        assert_eq!(receive(&content_type(), &body).unwrap_err().field, "part 1");

        // The suite's "statements split over two parts": the second has no hash.
        let body = message(
            BOUNDARY,
            "\r\n",
            &[
                json_part(&statements),
                json_part(&statements),
                data_part(TEXT_SHA256, TEXT),
            ],
        );
        assert!(receive(&content_type(), &body).is_err());
    }

    #[test]
    fn refuses_malformed_part_headers() {
        let statements = statement(json!([attachment(TEXT_SHA256)]));
        let mut part = data_part(TEXT_SHA256, TEXT);
        part.0[2] = TEXT_SHA256.to_owned();
        let body = message(BOUNDARY, "\r\n", &[json_part(&statements), part]);
        assert_eq!(receive(&content_type(), &body).unwrap_err().field, "part 2");
    }

    #[test]
    fn matches_batches_substatements_and_other_hash_sizes() {
        let shared = TEXT;
        let big = b"sha-512 data";
        let big_hash = sha2_hex(&"0".repeat(128), big).unwrap();
        let mut sub = statement(json!([attachment(&big_hash)]));
        sub["objectType"] = json!("SubStatement");
        let mut second = statement(json!([attachment(&TEXT_SHA256.to_ascii_uppercase())]));
        second["object"] = sub;
        let statements = json!([statement(json!([attachment(TEXT_SHA256)])), second]);

        assert_eq!(
            declared_without_url(&statements),
            vec![TEXT_SHA256.to_owned(), big_hash.clone()]
        );

        let body = message(
            BOUNDARY,
            "\r\n",
            &[
                json_part(&statements),
                data_part(&TEXT_SHA256.to_ascii_uppercase(), shared),
                data_part(TEXT_SHA256, shared),
                data_part(&big_hash, big),
            ],
        );
        let received = receive(&content_type(), &body).unwrap();
        let hashes: Vec<&str> = received
            .attachments
            .iter()
            .map(|a| a.sha2.as_str())
            .collect();
        assert_eq!(hashes, vec![TEXT_SHA256, big_hash.as_str()]);

        let body = message(
            BOUNDARY,
            "\r\n",
            &[json_part(&statements), data_part(TEXT_SHA256, shared)],
        );
        let error = receive(&content_type(), &body).unwrap_err();
        assert_eq!(error.field, "statements[1].object.attachments[0].sha2");
    }

    #[test]
    fn refuses_attachments_that_cannot_be_matched() {
        let body = |statements: Value| message(BOUNDARY, "\r\n", &[json_part(&statements)]);
        let cases = [
            (statement(json!({"sha2": TEXT_SHA256})), "attachments"),
            (
                statement(json!([{"contentType": "text/plain"}])),
                "attachments[0].sha2",
            ),
            (statement(json!(["x"])), "attachments[0]"),
            (json!([1]), "statements[0]"),
            (json!("x"), "part 1"),
        ];
        for (statements, field) in cases {
            assert_eq!(
                receive(&content_type(), &body(statements))
                    .unwrap_err()
                    .field,
                field
            );
        }
    }

    #[test]
    fn build_output_parses_back() {
        let statements = json!([statement(json!([attachment(TEXT_SHA256)]))]);
        let json = statements.to_string();
        let binary: Vec<u8> = (0..=255).collect();
        let attachments = vec![
            Attachment {
                sha2: TEXT_SHA256.to_owned(),
                content_type: "text/plain; charset=ascii".to_owned(),
                body: TEXT.to_vec(),
            },
            Attachment {
                sha2: sha256(&binary),
                content_type: "image/jpeg\r\nX-Injected: yes".to_owned(),
                body: binary.clone(),
            },
            Attachment {
                sha2: TEXT_SHA256.to_ascii_uppercase(),
                content_type: "text/plain".to_owned(),
                body: TEXT.to_vec(),
            },
        ];
        let (header, body) = build(json.as_bytes(), &attachments);
        let b = boundary(&header).unwrap();
        let parts = parse(&body, &b).unwrap();
        assert_eq!(parts.len(), 3, "the repeated attachment is sent once");
        assert_eq!(parts[0].header("Content-Type"), Some("application/json"));
        assert_eq!(parts[0].body, json.as_bytes());
        assert_eq!(
            parts[1].header("content-type"),
            Some("text/plain; charset=ascii")
        );
        assert_eq!(parts[1].header("Content-Transfer-Encoding"), Some("binary"));
        assert_eq!(parts[1].header("X-EXPERIENCE-API-HASH"), Some(TEXT_SHA256));
        assert_eq!(parts[1].body, TEXT);
        assert_eq!(
            parts[2].header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(parts[2].header("x-injected"), None);
        assert_eq!(parts[2].body, binary);

        // And a fresh boundary each time.
        assert_ne!(build(b"{}", &[]).0, build(b"{}", &[]).0);

        // The size predicted before building is the size built (the repeat is sent once).
        let predicted = envelope_size(json.len())
            + attachments[..2]
                .iter()
                .map(|a| part_size(&a.content_type, &a.sha2, a.body.len()))
                .sum::<usize>();
        assert_eq!(predicted, body.len());
    }

    #[test]
    fn build_output_is_a_valid_request() {
        let hash = sha256(b"\x00\x01");
        let statements = statement(json!([attachment(&hash)]));
        let attachment = Attachment {
            sha2: hash,
            content_type: "application/octet-stream".to_owned(),
            body: b"\x00\x01".to_vec(),
        };
        let (header, body) = build(
            statements.to_string().as_bytes(),
            std::slice::from_ref(&attachment),
        );
        let received = receive(&header, &body).unwrap();
        assert_eq!(received.statements, statements);
        assert_eq!(received.attachments, vec![attachment]);
    }

    fn signed_request(signed: &Value, sent: &Value, content_type: &str) -> (String, Vec<u8>) {
        let jws = signature::tests::sign(signed).into_bytes();
        let hash = sha256(&jws);
        let mut sent = sent.clone();
        sent["attachments"] = json!([{
            "usageType": SIGNATURE_USAGE_TYPE,
            "display": {"en-US": "Signature"},
            "contentType": content_type,
            "length": jws.len(),
            "sha2": hash
        }]);
        let attachment = Attachment {
            sha2: hash,
            content_type: content_type.to_owned(),
            body: jws,
        };
        build(sent.to_string().as_bytes(), &[attachment])
    }

    #[test]
    fn verifies_signature_attachments() {
        let s = signature::tests::statement();
        let (header, body) = signed_request(&s, &s, "application/octet-stream");
        assert!(receive(&header, &body).is_ok());

        let mut other = s.clone();
        other["object"]["id"] = json!("http://example.com/activities/other");
        let (header, body) = signed_request(&other, &s, "application/octet-stream");
        let error = receive(&header, &body).unwrap_err();
        assert_eq!(error.field, "attachments[0]");
        assert!(error.message.contains("object.id"), "{}", error.message);

        let (header, body) = signed_request(&s, &s, "text/plain; charset=ascii");
        assert_eq!(
            receive(&header, &body).unwrap_err().field,
            "attachments[0].contentType"
        );
    }

    #[test]
    fn a_signature_must_travel_as_a_part() {
        let mut s = signature::tests::statement();
        s["attachments"] = json!([{
            "usageType": SIGNATURE_USAGE_TYPE,
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": 10,
            "sha2": TEXT_SHA256,
            "fileUrl": "http://example.com/signature.jws"
        }]);
        assert_eq!(declared_without_url(&s), vec![TEXT_SHA256.to_owned()]);
        let body = message(BOUNDARY, "\r\n", &[json_part(&s)]);
        assert_eq!(
            receive(&content_type(), &body).unwrap_err().field,
            "attachments[0].sha2"
        );
    }
}
