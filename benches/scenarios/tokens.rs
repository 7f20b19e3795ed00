//! Tokens: an organisation's client asking for access tokens.

use super::Bench;
use crate::measure::{Measure, hammer, summarise};

/// Token issuance: argon2id verifies a client secret once, then the verified secret is remembered
/// for a minute, so this measures issuing the token itself.
pub async fn token_issuance(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, cred) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.orgs.employer.1.clone(),
    );
    let (mut lat, took) = hammer(c.min(4), s, move |_, _| {
        let (h, b, cred) = (h.clone(), b.clone(), cred.clone());
        async move {
            let r = h
                .post(format!("{b}/v1/oauth/token"))
                .basic_auth(&cred.client_id, Some(&cred.client_secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    })
    .await;
    summarise(
        "token issuance (client credentials)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}
