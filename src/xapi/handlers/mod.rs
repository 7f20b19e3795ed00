//! `/xapi/…`: the LRS's HTTP surface. Every handler names its caller ([`LrsClient`]), reads
//! xAPI's parameters, calls one function of the LRS and answers as xAPI 1.0.3 says.
//!
//! [`LrsClient`]: super::LrsClient

pub mod documents;
pub mod resources;
pub mod statements;

use chrono::{DateTime, Utc};

/// An HTTP date (`Last-Modified`, RFC 9110 section 5.6.7).
fn http_date(time: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(time.into())
}
