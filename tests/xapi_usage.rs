//! How the LRS counts what each organisation holds (`xapi::usage`) when many writers add to it
//! at once: exactly, whether the writes spread over slots (PostgreSQL, far from a quota) or
//! lock every slot (close to it, and always on SQLite), and without one writer of an
//! organisation waiting for another's commit while far from its quotas.

mod support;

use std::sync::mpsc;
use std::thread;

use diesel::Connection;
use learning_passport::db::Database;
use learning_passport::db::ids::OrganisationId;
use learning_passport::error::Error;
use learning_passport::xapi::usage::{self, Quotas, SLOTS, SPREAD_MOST, Usage};
use support::xapi::*;
use support::{Backend, TestApp};

const ONE_BATCH: Usage = Usage {
    statements: SPREAD_MOST.statements,
    documents: 0,
    attachment_bytes: 0,
};

/// Adds `change` to the organisation's usage in a transaction of its own, as a store does.
fn add(
    db: &Database,
    organisation_id: OrganisationId,
    change: Usage,
    quotas: &Quotas,
) -> Result<(), Error> {
    let mut conn = db.get().unwrap();
    learning_passport::db::transaction(&mut conn, |conn| {
        usage::apply(conn, organisation_id, change, quotas)
    })
}

/// Sixteen writers add the largest batch a write may spread, again and again, to an
/// organisation whose quota leaves room for five batches beside every other slot's writer and
/// twenty in all: the first writes spread over slots, the later ones count exactly, and
/// exactly twenty are admitted, every other refused as past the quota.
async fn writers_at_once_stop_exactly_at_the_quota(app: TestApp) {
    let db = app.db.clone();
    fill_to_the_quota(&app, &db).await;
}

/// Sixteen writers on `db` fill an organisation's LRS up to its quota, as above.
async fn fill_to_the_quota(app: &TestApp, db: &Database) {
    let lrs = Lrs::new(app, "LMS").await;
    let organisation_id = organisation(&lrs.client.organisation_id);
    let room_beside_others = SPREAD_MOST.statements * (i64::from(SLOTS) - 1);
    let quotas = Quotas {
        statements: room_beside_others + 5 * ONE_BATCH.statements,
        ..Quotas::UNBOUNDED
    };
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let db = db.clone();
            thread::spawn(move || {
                let mut admitted = 0;
                loop {
                    match add(&db, organisation_id, ONE_BATCH, &quotas) {
                        Ok(()) => admitted += 1,
                        Err(Error::QuotaExceeded(_)) => return admitted,
                        Err(other) => panic!("a write failed: {other}"),
                    }
                }
            })
        })
        .collect();
    let admitted: i64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(admitted * ONE_BATCH.statements, quotas.statements);
    let held = usage(app, &lrs.client.organisation_id).await.unwrap();
    assert_eq!(held, (quotas.statements, 0, 0));
}

/// Deletions and additions at once, far from the quotas: the count is their sum.
async fn additions_and_deletions_at_once_sum_exactly(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let organisation_id = organisation(&lrs.client.organisation_id);
    add(
        &app.db,
        organisation_id,
        Usage {
            statements: 100,
            documents: 10,
            attachment_bytes: 1000,
        },
        &Quotas::UNBOUNDED,
    )
    .unwrap();
    let writers: Vec<_> = (0..8)
        .map(|n| {
            let db = app.db.clone();
            thread::spawn(move || {
                let change = if n % 2 == 0 {
                    Usage {
                        statements: 3,
                        documents: 1,
                        attachment_bytes: 10,
                    }
                } else {
                    Usage {
                        statements: -2,
                        documents: -1,
                        attachment_bytes: -5,
                    }
                };
                for _ in 0..10 {
                    add(&db, organisation_id, change, &Quotas::UNBOUNDED).unwrap();
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((
            100 + 4 * 10 * 3 - 4 * 10 * 2,
            10,
            1000 + 4 * 10 * 10 - 4 * 10 * 5
        ))
    );
}

on_both_backends!(
    writers_at_once_stop_exactly_at_the_quota,
    additions_and_deletions_at_once_sum_exactly,
);

/// On PostgreSQL, far from its quotas, a write of an organisation does not wait for another
/// write of it to commit: the first adds on its slot and stays open while the second, on
/// another slot, adds and commits (with a lock timeout, so that waiting would fail the test
/// rather than hang it). SQLite has one writer, so there is nothing to show there.
#[actix_web::test]
async fn a_write_far_from_the_quota_does_not_wait_for_another_to_commit() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let lrs = Lrs::new(&app, "LMS").await;
    let organisation_id = organisation(&lrs.client.organisation_id);
    let one = Usage {
        statements: 1,
        documents: 0,
        attachment_bytes: 0,
    };
    // The organisation's first write creates its slots and counts exactly; the next, which
    // sees every slot committed, too. From then on writes spread.
    for _ in 0..2 {
        add(&app.db, organisation_id, one, &Quotas::UNBOUNDED).unwrap();
    }
    let (applied_tx, applied) = mpsc::channel::<i16>();
    let (second_done_tx, second_done) = mpsc::channel::<Result<(), String>>();
    let db = app.db.clone();
    let first = thread::spawn(move || {
        let mut conn = db.get().unwrap();
        conn.transaction(|conn| {
            usage::apply(conn, organisation_id, one, &Quotas::UNBOUNDED)?;
            applied_tx.send(usage::thread_slot()).unwrap();
            second_done.recv().unwrap().map_err(Error::Internal)
        })
    });
    let first_slot = applied.recv().unwrap();
    let second = loop {
        // A thread of its own, on another slot than the first's.
        let db = app.db.clone();
        let writer = thread::spawn(move || {
            if usage::thread_slot() == first_slot {
                return None;
            }
            let mut conn = db.get().unwrap();
            diesel::RunQueryDsl::execute(diesel::sql_query("SET lock_timeout = '10s'"), &mut *conn)
                .unwrap();
            Some(
                conn.transaction(|conn| {
                    usage::apply(conn, organisation_id, one, &Quotas::UNBOUNDED)
                })
                .map_err(|e| e.to_string()),
            )
        });
        if let Some(result) = writer.join().unwrap() {
            break result;
        }
    };
    second_done_tx.send(second.clone()).unwrap();
    first.join().unwrap().unwrap();
    second.unwrap();
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((4, 0, 0))
    );
}

/// On PostgreSQL, writes count exactly, and none fails, on a database whose default isolation
/// level is stricter than `READ COMMITTED` (a setting of the database, role or server): a write
/// transaction names its level, since counting on slots relies on each statement seeing what
/// was committed before it began.
#[actix_web::test]
async fn writes_count_exactly_whatever_the_default_isolation_level() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let url = app.settings.database_url.clone().unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let strict =
        format!("{url}{separator}options=-c%20default_transaction_isolation%3Dserializable");
    let db = Database::connect(&strict, 16, true).unwrap();
    let mut conn = db.get().unwrap();
    let default: String = diesel::RunQueryDsl::get_result::<Level>(
        diesel::sql_query("SHOW default_transaction_isolation"),
        &mut *conn,
    )
    .unwrap()
    .default_transaction_isolation;
    assert_eq!(default, "serializable");
    // A write transaction, and one nested in it, runs at READ COMMITTED all the same.
    let level = |conn: &mut learning_passport::db::DbConnection| {
        diesel::RunQueryDsl::get_result::<Isolation>(
            diesel::sql_query("SHOW transaction_isolation"),
            conn,
        )
        .map(|row| row.transaction_isolation)
        .map_err(Error::from)
    };
    let (outer, inner) = learning_passport::db::transaction(&mut conn, |conn| {
        let outer = level(conn)?;
        let inner = learning_passport::db::transaction(conn, |conn| level(conn))?;
        Ok((outer, inner))
    })
    .unwrap();
    assert_eq!(
        (outer.as_str(), inner.as_str()),
        ("read committed", "read committed")
    );
    drop(conn);
    fill_to_the_quota(&app, &db).await;
}

#[derive(diesel::QueryableByName)]
struct Isolation {
    #[diesel(sql_type = diesel::sql_types::Text)]
    transaction_isolation: String,
}

#[derive(diesel::QueryableByName)]
struct Level {
    #[diesel(sql_type = diesel::sql_types::Text)]
    default_transaction_isolation: String,
}
