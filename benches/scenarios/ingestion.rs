//! Ingestion: batches of completions pushed over HTTP, and the same rows inserted directly (the
//! database's ceiling).

use diesel::prelude::*;
use learning_passport::db::schema::records;
use learning_passport::on_backend;
use learning_passport::records::RecordRow;
use serde_json::{Value, json};

use super::Bench;
use crate::measure::{Measure, hammer, summarise};
use crate::seed::{completion, record};

/// Batch ingestion of completions.
pub async fn push_completions(bench: &Bench) -> Measure {
    let (c, s, batch) = (bench.clients, bench.seconds, bench.batch);
    let (h, b, t, ids3) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.platform_token.clone(),
        bench.ids.clone(),
    );
    let (mut lat, took) = hammer(c.min(8), s, move |client, i| {
        let (h, b, t, ids) = (h.clone(), b.clone(), t.clone(), ids3.clone());
        async move {
            let items: Vec<Value> = (0..batch)
                .map(|k| {
                    completion(
                        ids[(client * 7 + i * 131 + k * 17) % ids.len()],
                        format!("http-{client}-{i}-{k}"),
                    )
                })
                .collect();
            let r = h
                .post(format!("{b}/v1/completions"))
                .bearer_auth(t.as_str())
                .json(&json!({"completions": items}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let body: Value = r.json().await.unwrap();
            assert!(
                body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x["status"] == "created"),
                "{body}"
            );
        }
    })
    .await;
    summarise(
        &format!("push completions, batches of {batch}"),
        "records/s",
        &mut lat,
        took,
        batch,
    )
}

/// The same rows inserted directly, one multi-row insert per batch (database ceiling).
pub async fn raw_insert(bench: &Bench) -> Measure {
    let (c, s, batch) = (bench.clients, bench.seconds, bench.batch);
    let (mut lat, took) = {
        let (db, ids) = (bench.db.clone(), bench.ids.clone());
        let platform = bench.orgs.platform.0;
        hammer(c.min(8), s, move |client, i| {
            let (db, ids) = (db.clone(), ids.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let rows: Vec<RecordRow> = (0..batch)
                        .map(|k| {
                            let mut row =
                                record(ids[(client * 7 + i * 131 + k * 17) % ids.len()], k);
                            row.provenance = "issued".into();
                            row.issuer_organisation_id = Some(platform);
                            row.external_id = Some(format!("raw-{client}-{i}-{k}"));
                            row
                        })
                        .collect();
                    learning_passport::db::transaction(&mut db.get().unwrap(), |conn| {
                        on_backend!(conn, |c| diesel::insert_into(records::table)
                            .values(&rows)
                            .execute(c))?;
                        Ok(())
                    })
                    .unwrap();
                })
                .await
                .unwrap();
            }
        })
        .await
    };
    summarise(
        &format!("raw insert of the same rows, batches of {batch} (database ceiling)"),
        "records/s",
        &mut lat,
        took,
        batch,
    )
}
