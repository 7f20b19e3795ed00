//! Whether a PostgreSQL connection is encrypted, when `DATABASE_URL` does not say.
//!
//! libpq's default, `sslmode=prefer`, tries TLS and falls back to plain text without a word,
//! and verifies no certificate. To a database on this host it encrypts what never leaves the
//! machine: whoever can read loopback traffic can read either process's memory too. On an
//! employer's read that cost a sixth of the database's CPU and a fifth of the service's. To a
//! database on another host it protects nothing from whoever can intercept the connection,
//! since any certificate is accepted. So a loopback database is reached in plain text, and a
//! remote one without `verify-full` (or `verify-ca`) earns a warning at start-up. The URL's own
//! `sslmode`, or `PGSSLMODE`, is always followed.

/// The URL to connect with, and a warning for the operator if the connection it asks for is
/// not protected.
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    pub url: String,
    pub warning: Option<String>,
}

/// Decides for `url`; `env_sslmode` is `PGSSLMODE`, which libpq applies when the URL names
/// no mode.
pub fn choose(url: &str, env_sslmode: Option<&str>) -> Choice {
    let unchanged = |warning| Choice {
        url: url.to_owned(),
        warning,
    };
    // A URL libpq understands but the URL grammar does not (several hosts, say) is passed on
    // as it is.
    let Ok(parsed) = url::Url::parse(url) else {
        return unchanged(None);
    };
    let mut hosts: Vec<String> = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    let mut mode = env_sslmode.filter(|m| !m.is_empty()).map(str::to_owned);
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "host" | "hostaddr" => {
                hosts = value
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "sslmode" => mode = Some(value.into_owned()),
            _ => {}
        }
    }
    let local = hosts.iter().all(|h| is_local(h));
    match mode {
        Some(mode) if local || matches!(&*mode, "verify-full" | "verify-ca") => unchanged(None),
        Some(mode) => unchanged(Some(format!(
            "DATABASE_URL reaches PostgreSQL on another host with sslmode={mode}, which does not \
             verify the server's certificate: set sslmode=verify-full (and sslrootcert) to protect the \
             connection"
        ))),
        // Not even a Unix socket needs TLS; an empty host list is libpq's default socket.
        None if local => {
            let separator = if url.contains('?') { '&' } else { '?' };
            Choice {
                url: format!("{url}{separator}sslmode=disable"),
                warning: None,
            }
        }
        None => unchanged(Some(
            "DATABASE_URL reaches PostgreSQL on another host without sslmode: libpq's default \
             (prefer) neither verifies the server's certificate nor refuses plain text; set \
             sslmode=verify-full (and sslrootcert) to protect the connection"
                .to_owned(),
        )),
    }
}

/// A loopback address, `localhost`, or a Unix socket's directory.
fn is_local(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(url: &str) -> String {
        choose(url, None).url
    }

    #[test]
    fn a_database_on_this_host_is_reached_in_plain_text_unless_the_url_says_otherwise() {
        for local in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@localhost/postgres",
            "postgresql://u:p@[::1]:5432/db",
            "postgres://u@127.0.0.2/db",
            "postgres:///db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            let choice = choose(local, None);
            assert!(choice.url.ends_with("sslmode=disable"), "{local}");
            assert!(choice.url.starts_with(local), "{local}");
            assert_eq!(choice.warning, None, "{local}");
        }
        assert_eq!(
            url("postgres://u@127.0.0.1/db?application_name=lp"),
            "postgres://u@127.0.0.1/db?application_name=lp&sslmode=disable"
        );
        for named in [
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@localhost/db?sslmode=verify-full",
        ] {
            assert_eq!(choose(named, None).url, named);
        }
        // PGSSLMODE speaks for the URL that names no mode.
        assert_eq!(
            choose("postgres://u@127.0.0.1/db", Some("require")).url,
            "postgres://u@127.0.0.1/db"
        );
    }

    #[test]
    fn a_database_on_another_host_is_left_to_libpq_with_a_warning_unless_verified() {
        for remote in [
            "postgres://u@db.example.org/db",
            "postgres://u@10.0.0.5:5432/db",
            // `host` in the query overrides the URL's.
            "postgres://u@localhost/db?host=db.example.org",
            "postgres://u@db.example.org/db?sslmode=require",
        ] {
            let choice = choose(remote, None);
            assert_eq!(choice.url, remote);
            assert!(
                choice.warning.is_some_and(|w| w.contains("verify-full")),
                "{remote}"
            );
        }
        let verified = "postgres://u@db.example.org/db?sslmode=verify-full&sslrootcert=/ca.pem";
        assert_eq!(choose(verified, None).warning, None);
        assert_eq!(
            choose("postgres://u@db.example.org/db", Some("verify-ca")).warning,
            None
        );
    }

    #[test]
    fn a_url_the_url_grammar_cannot_read_is_passed_on_as_it_is() {
        let several = "postgres://u@db1:5432,db2:5432/db";
        assert_eq!(
            choose(several, None),
            Choice {
                url: several.to_owned(),
                warning: None
            }
        );
    }
}
