//! String formats the xAPI spec requires: IRIs, UUIDs, language tags, timestamps, durations,
//! and the smaller formats used by Agents and Attachments.
//!
//! The spec lets an LRS use "best-effort validation" for IRIs and language tags (Data 2.2.s4.b6,
//! 2.2.s4.b7), so these checks are syntactic only: they never consult a registry.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use iri_string::spec::IriSpec;

use crate::http::media_type;

/// An IRI by RFC 3987, read by the `iri-string` crate; on top, xAPI ids need something after
/// the scheme, which RFC 3987's empty path would allow.
pub(super) fn is_iri(s: &str) -> bool {
    s.split_once(':').is_some_and(|(_, rest)| !rest.is_empty())
        && iri_string::validate::iri::<IriSpec>(s).is_ok()
}

/// The spec gives IRLs no syntax of their own: an IRL is an IRI that is meant to resolve,
/// and whether it resolves is not something an LRS can be asked to check on receipt.
pub(super) fn is_irl(s: &str) -> bool {
    is_iri(s)
}

/// "openid" is typed as a URI (Data 2.4.2.3), the ASCII-only subset of IRIs.
pub(super) fn is_uri(s: &str) -> bool {
    s.is_ascii() && is_iri(s)
}

pub(super) fn is_uuid(s: &str) -> bool {
    // Only the hyphenated "standard string form" is allowed (Data 4.4); braces, "urn:uuid:" and
    // the 32-digit simple form are all refused. The variant bits are not checked: the spec's own
    // example id (2.4.s2) is not an RFC 4122 variant UUID.
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Well-formedness per the RFC 5646 ABNF (irregular grandfathered tags included), which is what
/// "the sequence of token lengths" (Data 2.2.s4.b2) amounts to, read by the `language-tags`
/// crate; on top, the two duplicate rules the conformance suite tests (a repeated extension
/// singleton such as "ar-a-aaa-b-bbb-a-ccc", or a repeated variant).
pub(super) fn is_language_tag(tag: &str) -> bool {
    let Ok(parsed) = language_tags::LanguageTag::parse(tag) else {
        return false;
    };
    let variants: Vec<String> = parsed
        .variant_subtags()
        .map(str::to_ascii_lowercase)
        .collect();
    let singletons: Vec<char> = parsed
        .extension_subtags()
        .map(|(singleton, _)| singleton.to_ascii_lowercase())
        .collect();
    !has_repeats(&variants) && !has_repeats(&singletons)
}

fn has_repeats<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, item)| items[..i].contains(item))
}

/// ISO 8601 combined date and time, extended ("2015-11-18T12:17:00.123+00:00") or basic
/// ("20151118T121700Z") format, with a time zone.
///
/// Data 4.5 only says a timestamp SHOULD* include a time zone; we require one because a
/// timestamp without it names no point in time and cannot be stored or compared as one.
/// The offsets "-00", "-0000" and "-00:00" mean "offset unknown" (RFC 3339 section 4.3) and the
/// conformance suite requires them to be refused.
pub(super) fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let (date, rest) = s.split_once(['T', 't'])?;
    let extended = match date.len() {
        10 => true,
        8 => false,
        _ => return None,
    };
    let naive_date = parse_date(date, extended)?;
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (time, zone) = rest.split_at(zone_at);
    let naive_time = parse_time(time, extended)?;
    let offset = parse_offset(zone)?;
    offset
        .from_local_datetime(&naive_date.and_time(naive_time))
        .single()
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits "2015-11-18" (extended) or "20151118" (basic) into its numeric fields.
fn parse_date(s: &str, extended: bool) -> Option<NaiveDate> {
    let (y, m, d) = if extended {
        let b = s.as_bytes();
        if b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        (s.get(0..4)?, s.get(5..7)?, s.get(8..10)?)
    } else {
        (s.get(0..4)?, s.get(4..6)?, s.get(6..8)?)
    };
    let year = i32::try_from(digits(y)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(m)?, digits(d)?)
}

/// "hh:mm[:ss[.fff]]" (extended) or "hhmm[ss[.fff]]" (basic); a comma is ISO 8601's other
/// decimal sign.
fn parse_time(s: &str, extended: bool) -> Option<NaiveTime> {
    let (whole, fraction) = match s.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (s, None),
    };
    let fields: Vec<&str> = if extended {
        whole.split(':').collect()
    } else {
        whole
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect()
    };
    if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
        return None;
    }
    // A decimal fraction is only accepted on the seconds.
    if fraction.is_some() && fields.len() != 3 {
        return None;
    }
    let hour = digits(fields[0])?;
    let minute = digits(fields[1])?;
    let second = fields.get(2).map_or(Some(0), |f| digits(f))?;
    let nanos = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Precision beyond nanoseconds is dropped, which Data 4.5.s1.b7 allows.
            let kept = &f[..f.len().min(9)];
            format!("{kept:0<9}").parse::<u32>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    if second == 60 {
        // chrono represents a leap second as 59 s plus an extra second's worth of nanoseconds.
        return NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos);
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s == "Z" || s == "z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, hhmm) = match s.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match hhmm.len() {
        2 => (hhmm, "00"),
        4 => hhmm.split_at_checked(2)?,
        5 if hhmm.as_bytes()[2] == b':' => (&hhmm[..2], &hhmm[3..]),
        _ => return None,
    };
    let (hours, minutes) = (digits(hours)?, digits(minutes)?);
    if hours > 23 || minutes > 59 || (sign < 0 && hours == 0 && minutes == 0) {
        return None;
    }
    FixedOffset::east_opt(sign * i32::try_from(hours * 3600 + minutes * 60).ok()?)
}

/// ISO 8601:2004 section 4.4.3.2 durations: "PnYnMnDTnHnMnS" with any components present in
/// that order, or "PnW" alone. The alternative format ("P0001-02-03T...") is forbidden by
/// Data 4.6.s1.b1 and is refused here because it has no designators.
pub(super) fn is_duration(s: &str) -> bool {
    let Some(body) = s.strip_prefix('P') else {
        return false;
    };
    if let Some(weeks) = body.strip_suffix('W') {
        return is_decimal(weeks);
    }
    let (date, time) = match body.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    let Some(mut numbers) = components(date, &['Y', 'M', 'D']) else {
        return false;
    };
    if let Some(time) = time {
        match components(time, &['H', 'M', 'S']) {
            // "T" must be followed by at least one time component.
            Some(time_numbers) if !time_numbers.is_empty() => numbers.extend(time_numbers),
            _ => return false,
        }
    }
    // Only the smallest component given may carry a decimal fraction.
    match numbers.split_last() {
        Some((last, others)) => is_decimal(last) && others.iter().all(|n| digits(n).is_some()),
        None => false,
    }
}

/// Reads "1Y2M" style components whose designators must appear in `order`, each at most once.
fn components<'a>(mut s: &'a str, order: &[char]) -> Option<Vec<&'a str>> {
    let mut numbers = Vec::new();
    let mut next = 0;
    while !s.is_empty() {
        let at = s.find(|c: char| c.is_ascii_alphabetic())?;
        let (number, rest) = s.split_at(at);
        let designator = rest.chars().next()?;
        next += order.get(next..)?.iter().position(|&d| d == designator)? + 1;
        if number.is_empty() {
            return None;
        }
        numbers.push(number);
        s = &rest[1..];
    }
    Some(numbers)
}

fn is_decimal(s: &str) -> bool {
    match s.split_once(['.', ',']) {
        Some((whole, fraction)) => {
            digits(whole).is_some()
                && !fraction.is_empty()
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The spec's literal form "mailto:email address" (Data 2.4.2.3); the scheme is matched in
/// lowercase only so that one address has one spelling in stored IFIs.
pub(super) fn is_mbox(s: &str) -> bool {
    let Some(address) = s.strip_prefix("mailto:") else {
        return false;
    };
    // An address, not a mailto URL with headers ("?subject=...").
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !address.contains('?') && is_iri(s)
}

pub(super) fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Hex digest of one of the SHA-2 functions (224, 256, 384 or 512 bits), the form also used
/// by the X-Experience-API-Hash header that must match it.
pub(super) fn is_sha2_hex(s: &str) -> bool {
    [56, 64, 96, 128].contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// "type/subtype" with optional parameters (RFC 2046), as a Content-Type would name it.
pub(super) fn is_media_type(s: &str) -> bool {
    media_type::parse(s).is_some()
}

/// "1.0" or "1.0.x" (Data 2.4.10.s3.b1, b2).
pub(super) fn is_version(s: &str) -> bool {
    match s.strip_prefix("1.0") {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|patch| digits(patch).is_some()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris() {
        for good in [
            "http://example.com/a",
            "urn:isbn:0451450523",
            "mailto:a@b.c",
            "tag:example.com,2024:x",
            "http://example.com/فعل/خواندن",
            "http://example.com/a%20b#frag",
            "a+b-c.d:x",
        ] {
            assert!(is_iri(good), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "/relative",
            "ab=c://should.fail.com",
            "1http://x",
            "http:",
            ":x",
            "http://exa mple.com",
            "http://example.com/\t",
            "http://example.com/<a>",
            "http://example.com/%zz",
            "http://example.com/%2",
        ] {
            assert!(!is_iri(bad), "{bad}");
        }
        assert!(is_uri("http://openid.example.org/1") && !is_uri("http://例え.jp"));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0"));
        assert!(is_uuid("AA97B177-9383-4934-8543-0F91A7A02836"));
        assert!(is_uuid("12345678-1234-5678-1234-567812345678"));
        for bad in [
            "",
            "fd41c918b88b4b20a0a5a4c32391aaa0",
            "{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}",
            "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "AA97B177-9383-4934-8543-0F91A7A028368",
            "MA97B177-9383-4934-8543-0F91A7A02836",
            "fd41c918-b88b-4b20-a0a5a-4c32391aaa0",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn language_tags() {
        let good = [
            "de",
            "ine",
            "en-US",
            "zh-Hant",
            "sr-Latn",
            "zh-cmn-Hans-CN",
            "sr-Latn-RS",
            "sl-rozaj-biske",
            "de-CH-1901",
            "hy-Latn-IT-arevela",
            "de-DE",
            "es-419",
            "az-Arab-x-AZE-derbend",
            "x-whatever",
            "i-enochian",
            "en-GB-oed",
            "zh-min-nan",
            "en-a-bbb-x-a-ccc",
            "qaa-Qaaa-QM-x-southern",
            "tlh",
            "EN-us",
        ];
        for tag in good {
            assert!(is_language_tag(tag), "{tag}");
        }
        let bad = [
            "",
            "de-419-DE",
            "a-DE",
            "ar-a-aaa-b-bbb-a-ccc",
            "a12345",
            "en-",
            "-en",
            "en--US",
            "supercalifragilisticexpialidocious",
            "en-US-x",
            "x",
            "en-a",
            "de-1901-1901",
            "en_US",
            "e",
            "123",
            "en-US-a-b",
        ];
        for tag in bad {
            assert!(!is_language_tag(tag), "{tag}");
        }
    }

    #[test]
    fn timestamps_in_extended_and_basic_format() {
        let parsed = timestamp("2015-11-18T12:17:00.123+01:00").expect("valid");
        assert_eq!(parsed.to_rfc3339(), "2015-11-18T12:17:00.123+01:00");
        for good in [
            "2013-05-18T05:32:34.804Z",
            "2015-11-18T12:17:00+00:00",
            "2015-11-18T12:17Z",
            "2015-11-18t12:17:00z",
            "20151118T121700Z",
            "20151118T121700.5+0530",
            "2015-11-18T12:17:00-05",
            "2015-11-18T12:17:00+0000",
            "2015-11-18T12:17:00+00",
            "2008-09-15T15:53:00,601-05:00",
            "2016-12-31T23:59:60Z",
            "2015-11-18T12:17:00.123456789123Z",
        ] {
            assert!(timestamp(good).is_some(), "{good}");
        }
        let bad = [
            "",
            "should fail",
            "01/011/2015",
            "2015-11-18",
            "2015-11-18T12:17:00",
            "2008-09-15T15:53:00.601-00",
            "2008-09-15T15:53:00.601-0000",
            "2008-09-15T15:53:00.601-00:00",
            "2015-02-30T12:00:00Z",
            "2015-11-18T24:00:00Z",
            "2015-11-18T12:60:00Z",
            "2015-11-18T12:17:00+24:00",
            "2015-11-18 12:17:00Z",
            "2015-11-18T12:17:00.Z",
            "2015-11-18T12:17.5Z",
            "2015-11-18T1217Z",
            "20151118T12:17Z",
            "15-11-18T12:17:00Z",
            "2015-11-18T12:17:00+1",
            "2015-11-18T12:17:00 +01:00",
        ];
        for s in bad {
            assert!(timestamp(s).is_none(), "{s}");
        }
    }

    #[test]
    fn timestamps_keep_their_offset_and_precision() {
        let parsed = timestamp("2008-09-15T15:53:00.6019-05:30").expect("valid");
        assert_eq!(parsed.offset().local_minus_utc(), -(5 * 3600 + 30 * 60));
        assert_eq!(parsed.timestamp_subsec_micros(), 601_900);
    }

    #[test]
    fn durations() {
        for good in [
            "PT1H30M",
            "P1DT2.5S",
            "P3Y1M29DT4H35M59.14S",
            "P3Y",
            "P4W",
            "P1.5W",
            "PT0S",
            "P1M",
            "PT1M",
            "P1Y2M3DT4H5M6S",
            "PT36H",
        ] {
            assert!(is_duration(good), "{good}");
        }
        for bad in [
            "", "P", "PT", "P1", "P4W1D", "P1S", "P1H", "PT1D", "P1.5Y2M", "P1Y1Y", "P1DT", "p1d",
            "P-1D", "PT1.S", "P1YT2",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn small_formats() {
        assert!(is_mbox("mailto:a.b+c@example.co.uk"));
        assert!(!is_mbox("mailto:a@example.com?subject=hi"));
        assert!(is_sha1_hex("EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"));
        assert!(is_sha2_hex(&"a".repeat(64)) && is_sha2_hex(&"F".repeat(128)));
        assert!(!is_sha2_hex(&"a".repeat(40)) && !is_sha2_hex(&"g".repeat(64)));
        for good in [
            "text/plain",
            "text/plain; charset=ascii",
            "application/octet-stream",
            "image/svg+xml",
            "multipart/mixed ; boundary=x",
        ] {
            assert!(is_media_type(good), "{good}");
        }
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "plain text",
            "text/plain text",
        ] {
            assert!(!is_media_type(bad), "{bad}");
        }
    }
}
