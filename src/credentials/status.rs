//! Revocation, published as Bitstring Status Lists: each credential holds one slot of one list,
//! and a new list is opened when the current one fills, so that issuing never stops.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel::dsl::max;
use diesel::prelude::*;
use rand::Rng;
use serde_json::json;

use super::did;
use crate::auth::keys::Keys;
use crate::db::DbConnection;
use crate::db::schema::credentials;
use crate::error::Error;

/// Slots in one status list: the minimum the Bitstring Status List recommends, so that a
/// credential's slot says nothing about which person it belongs to.
pub const STATUS_LIST_SIZE: i32 = 131_072;

/// Random slots tried at once; when all are taken the list is (nearly) full and the next is
/// opened. A list is left when it is about nine tenths full.
const CANDIDATES: usize = 24;

/// The path of a status list.
pub fn path(list: i32) -> String {
    format!("/v1/credentials/status/{list}")
}

/// The highest list in use (1 when there is none yet).
fn current_list(conn: &mut DbConnection) -> Result<i32, Error> {
    Ok(credentials::table
        .select(max(credentials::status_list))
        .first::<Option<i32>>(conn)?
        .unwrap_or(1))
}

/// A random free slot: (list, index). One query for the candidates, whatever the list's size.
pub(super) fn free_slot(conn: &mut DbConnection) -> Result<(i32, i32), Error> {
    let mut list = current_list(conn)?;
    loop {
        let candidates: Vec<i32> = {
            let mut rng = rand::thread_rng();
            (0..CANDIDATES)
                .map(|_| rng.gen_range(0..STATUS_LIST_SIZE))
                .collect()
        };
        let taken: Vec<i32> = credentials::table
            .filter(credentials::status_list.eq(list))
            .filter(credentials::status_index.eq_any(&candidates))
            .select(credentials::status_index)
            .load(conn)?;
        if let Some(free) = candidates.into_iter().find(|c| !taken.contains(c)) {
            return Ok((list, free));
        }
        list += 1;
    }
}

/// A status list, as a signed Bitstring Status List credential (VC-JWT); a list that has not
/// been opened yet is not found.
pub fn list(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    list: i32,
) -> Result<String, Error> {
    if list < 1 || list > current_list(conn)? {
        return Err(Error::NotFound("no such status list".into()));
    }
    let revoked: Vec<i32> = credentials::table
        .filter(credentials::status_list.eq(list))
        .filter(credentials::revoked_at.is_not_null())
        .select(credentials::status_index)
        .load(conn)?;
    let mut bits = vec![0u8; (STATUS_LIST_SIZE / 8) as usize];
    for index in revoked {
        // Index 0 is the most significant bit of the first byte.
        bits[(index / 8) as usize] |= 0x80 >> (index % 8);
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&bits)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let compressed = gzip.finish().map_err(|e| Error::Internal(e.to_string()))?;
    let base = public_url.trim_end_matches('/');
    let url = format!("{base}{}", path(list));
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": did(public_url),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": url,
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/status/v1"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "credentialSubject": {
                "id": format!("{url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": format!("u{}", URL_SAFE_NO_PAD.encode(compressed)),
            },
        },
    });
    keys.sign(&claims, super::CREDENTIAL_TYPE)
}
