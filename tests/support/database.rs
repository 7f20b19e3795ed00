//! PostgreSQL for tests: each test gets its own database, cloned from a template that is
//! migrated once per migration set, and dropped when the test ends.

use std::path::PathBuf;

use diesel::prelude::*;
use learning_passport::db::Database;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_base() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

fn with_database(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<PathBuf> = walk(&dir);
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(
            file.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(&file).unwrap());
    }
    hex(&hash.finalize()[..6])
}

fn walk(dir: &PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A database of either backend that no service has started on (migrated, on PostgreSQL; on
/// SQLite a file not yet created), for commands run before the service ever ran.
pub struct UnusedDatabase {
    pub url: String,
    _pg: Option<PgDatabase>,
}

impl UnusedDatabase {
    /// `None` when PostgreSQL is unavailable outside CI.
    pub async fn create(backend: super::Backend, dir: &std::path::Path) -> Option<Self> {
        match backend {
            super::Backend::Sqlite => Some(UnusedDatabase {
                url: dir.join("unused.db").to_string_lossy().into_owned(),
                _pg: None,
            }),
            super::Backend::Postgres => {
                let (pg, url) = actix_web::rt::task::spawn_blocking(PgDatabase::create)
                    .await
                    .unwrap()?;
                Some(UnusedDatabase { url, _pg: Some(pg) })
            }
        }
    }
}

/// A fresh PostgreSQL database, dropped with this value.
pub(super) struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    pub(super) fn create() -> Option<(Self, String)> {
        let admin_url = pg_base();
        let mut admin = match diesel::PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                    panic!("CI is set but PostgreSQL at {admin_url} is unreachable: {error}");
                }
                eprintln!(
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !! SKIPPING the PostgreSQL half of this test: {admin_url} is unreachable\n\
                     !! ({error}). Set TEST_DATABASE_URL, or start PostgreSQL. CI never skips.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                return None;
            }
        };
        let template = format!("lp_template_{}", migrations_fingerprint());
        // One process builds the template; the others wait for it on this lock.
        diesel::sql_query("SELECT pg_advisory_lock(727274)")
            .execute(&mut admin)
            .unwrap();
        let exists: i64 = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_database WHERE datname = '{template}'"
        ))
        .get_result::<Count>(&mut admin)
        .unwrap()
        .n;
        if exists == 0 {
            diesel::sql_query(format!("CREATE DATABASE {template}"))
                .execute(&mut admin)
                .unwrap();
            let db = Database::connect(&with_database(&admin_url, &template), 1, false).unwrap();
            db.migrate().unwrap();
            drop(db);
        }
        diesel::sql_query("SELECT pg_advisory_unlock(727274)")
            .execute(&mut admin)
            .unwrap();
        let name = format!("lp_test_{}", uuid::Uuid::new_v4().simple());
        // Cloning needs the template to be idle for a moment; retry while another clone runs.
        let mut attempts = 0;
        loop {
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut admin)
            {
                Ok(_) => break,
                Err(error) if attempts < 50 => {
                    attempts += 1;
                    let _ = error;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(error) => panic!("could not create a test database: {error}"),
            }
        }
        let url = with_database(&admin_url, &name);
        Some((PgDatabase { admin_url, name }, url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
