//! Times in JSON answers, written as chrono writes them (`2026-12-07T04:33:55.123456Z`: RFC 3339
//! in UTC, with as many fractional digits as the value needs, in groups of three) but without
//! going through `fmt`: chrono's `Display` put a formatter and an escaping writer between every
//! character, a twentieth of an employer's read of 30 records (five times each). Used with
//! `#[serde(serialize_with = "…")]` on the fields of hot answers; every other field keeps chrono's
//! own, and both write the same text (tested below).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// A time as chrono's `Serialize` writes it.
pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = [0u8; 30];
    match write(time, &mut text) {
        // Always ASCII digits and separators.
        Some(len) => serializer.serialize_str(std::str::from_utf8(&text[..len]).unwrap_or("")),
        None => serde::Serialize::serialize(time, serializer),
    }
}

/// An optional time: `null`, or as [`serialize`] writes it.
pub fn serialize_option<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// Writes the time into `out` and answers its length; `None` for what only chrono's general
/// formatter writes (years outside 0 to 9999, leap seconds).
fn write(time: &DateTime<Utc>, out: &mut [u8; 30]) -> Option<usize> {
    let year = u32::try_from(time.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut value = value;
        for i in (at..at + digits).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, time.month(), 2);
    put(8, time.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    let (fraction, digits) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    let mut len = 19;
    if digits > 0 {
        put(20, fraction, digits);
        out[19] = b'.';
        len = 20 + digits;
    }
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        out[at] = separator;
    }
    out[len] = b'Z';
    Some(len + 1)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    #[derive(serde::Serialize)]
    struct Fast {
        #[serde(serialize_with = "serialize")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "serialize_option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(serde::Serialize)]
    struct Chrono {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn both(at: DateTime<Utc>, maybe: Option<DateTime<Utc>>) -> (String, String) {
        (
            serde_json::to_string(&Fast { at, maybe }).unwrap(),
            serde_json::to_string(&Chrono { at, maybe }).unwrap(),
        )
    }

    fn at(year: i32, nanos: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(year, 2, 29)
            .or_else(|| NaiveDate::from_ymd_opt(year, 12, 31))
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, nanos)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn every_precision_is_written_as_chrono_writes_it() {
        for nanos in [
            0,
            1,
            10,
            999,
            1_000,
            120_000,
            123_456_000,
            500_000_000,
            999_999_999,
        ] {
            for year in [0, 1, 99, 1999, 2024, 2026, 9999] {
                let (fast, chrono) = both(at(year, nanos), None);
                assert_eq!(fast, chrono, "year {year}, {nanos} ns");
            }
        }
    }

    #[test]
    fn times_only_chrono_writes_go_to_chrono() {
        // Before year 0, after 9999, and a leap second.
        for time in [at(-1, 5), at(10_000, 0), at(2016, 1_500_000_000)] {
            let mut out = [0u8; 30];
            assert_eq!(write(&time, &mut out), None, "{time:?}");
            let (fast, chrono) = both(time, Some(time));
            assert_eq!(fast, chrono);
        }
    }

    #[test]
    fn a_spread_of_times_reads_the_same_either_way() {
        let mut state = 1u64;
        for _ in 0..10_000 {
            // A cheap spread over 1970 to 9999, at every precision.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let seconds = ((state >> 11) % 253_402_300_800) as i64;
            let precision = [1, 1_000, 1_000_000, 1_000_000_000][(state >> 3) as usize % 4];
            let nanos = (state as u32 % 1_000_000_000) / precision * precision;
            let time = Utc.timestamp_opt(seconds, nanos).unwrap();
            let (fast, chrono) = both(time, Some(time));
            assert_eq!(fast, chrono);
        }
    }
}
