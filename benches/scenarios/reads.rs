//! Reads: the framework's ceiling, a person listing their records and an employer reading a
//! shared passport, each over HTTP and directly on the pool (the database's ceilings).

use learning_passport::db::ids::PersonId;
use learning_passport::grants::{self, Permission};
use learning_passport::http::pagination::Page;
use learning_passport::organisations;
use learning_passport::records::Viewer;
use learning_passport::records::store::{self, RecordFilter};
use learning_passport::sharing;

use super::Bench;
use crate::measure::{Measure, hammer, read_ok, summarise};

/// Framework ceiling.
pub async fn framework_ceiling(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b) = (bench.http.clone(), bench.base_url.clone());
    let (mut lat, took) = hammer(c, s, move |_, _| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            assert!(
                h.get(format!("{b}/health/live"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .is_success()
            );
        }
    })
    .await;
    summarise(
        "health/live (framework ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// A person listing their records.
pub async fn owner_lists(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.person_tokens.clone(),
    );
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let token = &t[(client * 7919 + i) % t.len()];
            read_ok(&h, format!("{b}/v1/me/records?limit=30"), token).await;
        }
    })
    .await;
    summarise("owner lists 30 records", "req/s", &mut lat, took, 1)
}

/// The same list query run directly on the pool (database ceiling).
pub async fn owner_list_direct(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (mut lat, took) = {
        let (db, ids) = (bench.db.clone(), bench.ids.clone());
        hammer(c, s, move |client, i| {
            let (db, ids) = (db.clone(), ids.clone());
            async move {
                let person = ids[(client * 7919 + i) % 200.min(ids.len())];
                tokio::task::spawn_blocking(move || {
                    store::list(
                        &mut db.get().unwrap(),
                        person,
                        Viewer::Owner,
                        &RecordFilter::default(),
                        Page {
                            limit: 30,
                            after: None,
                        },
                    )
                    .unwrap()
                })
                .await
                .unwrap();
            }
        })
        .await
    };
    summarise(
        "owner list query, direct (database ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// An employer reading a shared passport.
pub async fn employer_reads(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t, ids2) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.employer_token.clone(),
        bench.ids.clone(),
    );
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (h, b, t, ids) = (h.clone(), b.clone(), t.clone(), ids2.clone());
        async move {
            let person = shared_passport(&ids, client, i);
            read_ok(
                &h,
                format!("{b}/v1/people/{person}/records?limit=30"),
                t.as_str(),
            )
            .await;
        }
    })
    .await;
    summarise(
        "employer reads a shared passport",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// The passport an employer's client reads on its `i`th request: spread over every seeded
/// person, the same choice over HTTP and directly.
fn shared_passport(ids: &[PersonId], client: usize, i: usize) -> PersonId {
    ids[(client * 104_729 + i * 31) % ids.len()]
}

/// The SQL of an employer's read run directly on the pool, in a read transaction and without
/// the access event (the database's read-only ceiling for that row): the live read grants,
/// checked against the client's status in the same statement, and the records those grants
/// cover.
pub async fn employer_read_direct(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (db, ids) = (bench.db.clone(), bench.ids.clone());
    let organisation = bench.orgs.employer.0;
    let client_id = bench.orgs.employer.1.client_id.clone();
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (db, ids, client_id) = (db.clone(), ids.clone(), client_id.clone());
        async move {
            let person = shared_passport(&ids, client, i);
            tokio::task::spawn_blocking(move || {
                learning_passport::db::read_transaction(&mut db.get().unwrap(), |conn| {
                    let live = grants::live_while(
                        conn,
                        person,
                        organisation,
                        Permission::Read,
                        organisations::active_client(&client_id),
                    )?;
                    assert!(!live.is_empty());
                    store::list(
                        conn,
                        person,
                        Viewer::Organisation(&sharing::union(&live)),
                        &RecordFilter::default(),
                        Page {
                            limit: 30,
                            after: None,
                        },
                    )
                })
                .unwrap()
            })
            .await
            .unwrap();
        }
    })
    .await;
    summarise(
        "employer read query, direct, read-only (database ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}
