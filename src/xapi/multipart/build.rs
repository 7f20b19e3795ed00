//! Writing a `multipart/mixed` answer: the statements first, then one part per attachment, under a
//! boundary that occurs in none of them.

use std::collections::HashSet;

use rand::Rng;

use super::attachments::Attachment;
use super::mime::{find, header_safe};

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

pub(super) fn json_head(boundary: &str) -> String {
    format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n")
}

pub(super) fn part_head(boundary: &str, content_type: &str, sha2: &str) -> String {
    // Both values can come from client-supplied statements; a CR or LF in them would forge
    // headers.
    let content_type = header_safe(content_type).unwrap_or("application/octet-stream");
    let sha2 = header_safe(sha2).unwrap_or_default();
    format!(
        "\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\
         Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
    )
}

pub(super) fn closing(boundary: &str) -> String {
    format!("\r\n--{boundary}--\r\n")
}

pub(super) fn fresh_boundary(json: &[u8], attachments: &[&Attachment]) -> String {
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
pub(super) fn boundary_from(random: u128) -> String {
    format!("xapi-{random:032x}")
}

pub(super) fn sized_boundary() -> String {
    boundary_from(0)
}
