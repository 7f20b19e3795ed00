//! `multipart/mixed` statement requests and responses with attachments (xAPI 1.0.3,
//! Communication 1.5.2; Data 2.4.11 and 2.6).
//!
//! Line ends: RFC 2046 and the spec's example use CRLF, and [`build`] always writes CRLF.
//! [`parse`] also accepts bare LF line ends. That is safe here because every attachment
//! part is bound to its SHA-2: if a lone LF ever framed a part differently from what the
//! sender meant, the hash check in [`receive`] refuses the request, and nothing is stored
//! wrongly.
//!
//! - [`mime`]: the MIME framing (RFC 2046);
//! - [`attachments`]: the xAPI rules on top of it, for requests;
//! - [`build`]: answers with attachments.

pub mod attachments;
pub mod build;
pub mod mime;

pub use attachments::{Attachment, Received, SIGNATURE_USAGE_TYPE, declared_without_url, receive};
pub use build::{build, envelope_size, part_size};
pub use mime::{Part, boundary, parse};

#[cfg(test)]
mod tests {
    use super::attachments::sha2_hex;
    use super::*;
    use crate::xapi::signature;
    use serde_json::Value;
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
