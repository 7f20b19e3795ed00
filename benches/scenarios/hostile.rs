//! Hostile callers, after every other scenario: refused reads, and a flood of made-up
//! credentials beside an employer's reads.

use std::sync::Arc;

use super::Bench;
use crate::measure::Measure;
use crate::{hostile, service};

/// What hostile callers did to the service, measured in the same run.
pub struct Hostile {
    pub flood: hostile::Flooded,
    pub refused_existing: Measure,
    pub refused_made_up: Measure,
}

/// The hostile scenarios, after every other.
pub async fn hostile_scenarios(bench: &Bench) -> Hostile {
    let (c, s) = (bench.clients, bench.seconds);
    // Refused reads: a person who exists and a made-up id cost the same.
    let prober_token =
        Arc::new(service::org_token(&bench.http, &bench.base_url, &bench.orgs.prober).await);
    let (refused_existing, refused_made_up) =
        hostile::refused_reads(&bench.base_url, prober_token, bench.ids.clone(), c, s).await;
    // Last, since it spends the loopback address's failed-authentication budget: a flood of
    // made-up credentials beside the employer's reads.
    let flood = hostile::credential_flood(
        &bench.base_url,
        bench.employer_token.clone(),
        bench.ids.clone(),
        c,
        s,
    )
    .await;
    Hostile {
        flood,
        refused_existing,
        refused_made_up,
    }
}
