//! MIME framing of `multipart/mixed` bodies (RFC 2046): boundaries, delimiters, part headers.

use crate::error::FieldError;
use crate::http::media_type;

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

/// The boundary parameter of a `multipart/mixed; boundary=...` Content-Type (quoted or not).
/// `None` when the type is not multipart/mixed or the boundary is missing or not a valid
/// RFC 2046 boundary.
pub fn boundary(content_type: &str) -> Option<String> {
    if media_type::essence(content_type)? != "multipart/mixed" {
        return None;
    }
    let value = media_type::parameter(content_type, "boundary")?;
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

pub(super) struct Delimiter {
    /// Where the content before this delimiter ends (its line break excluded).
    content_end: usize,
    /// Where the part after it starts, past the delimiter line.
    next_part: usize,
    closing: bool,
}

/// The next `--boundary` at the start of a line from `from` on. A line that merely starts
/// with the boundary and goes on with other text is content, not a delimiter.
pub(super) fn next_delimiter(body: &[u8], dash_boundary: &[u8], from: usize) -> Option<Delimiter> {
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

pub(super) fn parse_part(content: &[u8], number: usize) -> Result<Part, FieldError> {
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

pub(super) fn push_header(headers: &mut Vec<(String, String)>, line: &[u8]) -> Option<()> {
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

/// RFC 2046 5.1.1: 1 to 70 of `bchars`, not ending in a space.
pub(super) fn valid_boundary(boundary: &str) -> bool {
    (1..=70).contains(&boundary.len())
        && !boundary.ends_with(' ')
        && boundary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b))
}

pub(super) fn header_safe(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
    .then_some(value)
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
