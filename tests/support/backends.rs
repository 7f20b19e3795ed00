//! The two backends, and the macros that run each scenario on both.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario `async fn name(app: TestApp)` on SQLite and on PostgreSQL, as two tests
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                if let Some(app) = $crate::support::TestApp::start($crate::support::Backend::Sqlite).await {
                    super::$name(app).await
                }
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::start($crate::support::Backend::Postgres).await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

/// Runs a scenario `async fn name(backend: Backend)` that starts its own app (with settings of
/// its own) on SQLite and on PostgreSQL, as two tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[actix_web::test]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}
