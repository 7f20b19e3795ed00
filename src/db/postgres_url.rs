//! Whether a PostgreSQL connection is encrypted, when `DATABASE_URL` does not say.
//!
//! libpq's default, `sslmode=prefer`, tries TLS and falls back to plain text without a word,
//! and verifies no certificate. To a database on this host it encrypts what never leaves the
//! machine: whoever can read loopback traffic can read either process's memory too. On an
//! employer's read that cost a sixth of the database's CPU and a fifth of the service's. To a
//! database on another host it protects nothing from whoever can intercept the connection,
//! since any certificate is accepted. So a loopback database is reached in plain text, and a
//! remote one without `verify-full` (or `verify-ca`) earns a warning at start-up. What libpq is
//! told elsewhere (the URL's own `sslmode`, `PGSSLMODE`, a service file) is always followed.

/// The URL to connect with, and a warning for the operator if the connection it asks for is
/// not protected.
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    pub url: String,
    pub warning: Option<String>,
}

const UNREAD: &str = "DATABASE_URL names no sslmode, in a form this service does not read \
    (several hosts, say): libpq's default (prefer) neither verifies the server's certificate nor \
    refuses plain text; set sslmode=verify-full (and sslrootcert) for a remote database, or \
    sslmode=disable for one on this host";

/// Decides for `url`. `env` reads libpq's environment (`PGHOST`, `PGHOSTADDR`, `PGSSLMODE`,
/// `PGSERVICE`), which speaks for whatever the URL leaves out.
pub fn choose(url: &str, env: impl Fn(&str) -> Option<String>) -> Choice {
    let unchanged = |warning| Choice {
        url: url.to_owned(),
        warning,
    };
    let env = |name| env(name).filter(|value: &String| !value.is_empty());
    let unread = || {
        let names_mode = url.contains("sslmode=") || env("PGSSLMODE").is_some();
        unchanged((!names_mode).then(|| UNREAD.to_owned()))
    };
    // What libpq reads differently from the URL grammar (several hosts; a `#`, which libpq
    // takes as part of the text, not as the start of a fragment) is passed on as it is.
    let Ok(parsed) = url::Url::parse(url) else {
        return unread();
    };
    if parsed.fragment().is_some() {
        return unread();
    }
    let mut host = parsed.host_str().filter(|h| !h.is_empty()).map(|h| {
        percent_encoding::percent_decode_str(h)
            .decode_utf8_lossy()
            .into_owned()
    });
    let (mut hostaddr, mut mode, mut service) = (None, None, env("PGSERVICE"));
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "host" => host = Some(value.into_owned()),
            "hostaddr" => hostaddr = Some(value.into_owned()),
            "sslmode" => mode = Some(value.into_owned()),
            "service" => service = Some(value.into_owned()),
            _ => {}
        }
    }
    // A service file fills in what the URL leaves out, its own sslmode among them: adding one
    // here would override it.
    if service.is_some() {
        return unchanged(None);
    }
    let host = host.or_else(|| env("PGHOST"));
    let hostaddr = hostaddr.or_else(|| env("PGHOSTADDR"));
    let mode = mode.or_else(|| env("PGSSLMODE"));
    // libpq connects to `hostaddr` where it is given, and names `host` to the server: both must
    // be on this host. No host at all is libpq's default Unix socket.
    let local = [&host, &hostaddr]
        .into_iter()
        .flatten()
        .flat_map(|hosts| hosts.split(','))
        .filter(|h| !h.is_empty())
        .all(is_local);
    match mode {
        Some(mode) if local || matches!(&*mode, "verify-full" | "verify-ca") => unchanged(None),
        Some(mode) => unchanged(Some(format!(
            "DATABASE_URL reaches PostgreSQL on another host with sslmode={mode}, which does not \
             verify the server's certificate: set sslmode=verify-full (and sslrootcert) to protect the \
             connection"
        ))),
        // Not even a Unix socket needs TLS; an empty host list is libpq's default socket.
        None if local => {
            let separator = match url.chars().last() {
                Some('?' | '&') => "",
                _ if url.contains('?') => "&",
                _ => "?",
            };
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

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn url(url: &str) -> String {
        choose(url, no_env).url
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
            let choice = choose(local, no_env);
            assert!(choice.url.ends_with("sslmode=disable"), "{local}");
            assert!(choice.url.starts_with(local), "{local}");
            assert_eq!(choice.warning, None, "{local}");
        }
        assert_eq!(
            url("postgres://u@127.0.0.1/db?application_name=lp"),
            "postgres://u@127.0.0.1/db?application_name=lp&sslmode=disable"
        );
        assert_eq!(
            url("postgres://u@[::1]/db?"),
            "postgres://u@[::1]/db?sslmode=disable"
        );
        assert_eq!(
            url("postgres://%2Fvar%2Frun%2Fpostgresql/db"),
            "postgres://%2Fvar%2Frun%2Fpostgresql/db?sslmode=disable"
        );
        for named in [
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@localhost/db?sslmode=verify-full",
        ] {
            assert_eq!(choose(named, no_env).url, named);
        }
        // libpq's environment speaks for what the URL leaves out.
        assert_eq!(
            choose(
                "postgres://u@127.0.0.1/db",
                env(&[("PGSSLMODE", "require")])
            )
            .url,
            "postgres://u@127.0.0.1/db"
        );
        assert_eq!(
            choose("postgres:///db", env(&[("PGHOST", "/var/run/postgresql")])).url,
            "postgres:///db?sslmode=disable"
        );
        // The URL's host wins over PGHOST.
        assert_eq!(
            choose(
                "postgres://u@localhost/db",
                env(&[("PGHOST", "db.example.org")])
            )
            .url,
            "postgres://u@localhost/db?sslmode=disable"
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
            // libpq connects to `hostaddr`, whatever `host` says.
            "postgres://u@localhost/db?hostaddr=10.0.0.5",
            "postgres://u@localhost/db?host=localhost&hostaddr=10.0.0.5",
            // A percent-encoded host is read as libpq reads it.
            "postgres://u@localhost/db?host=db%2Eexample%2Eorg",
        ] {
            let choice = choose(remote, no_env);
            assert_eq!(choice.url, remote);
            assert!(
                choice.warning.is_some_and(|w| w.contains("verify-full")),
                "{remote}"
            );
        }
        let verified = "postgres://u@db.example.org/db?sslmode=verify-full&sslrootcert=/ca.pem";
        assert_eq!(choose(verified, no_env).warning, None);
        assert_eq!(
            choose(
                "postgres://u@db.example.org/db",
                env(&[("PGSSLMODE", "verify-ca")])
            )
            .warning,
            None
        );
        // A URL that names no host reaches PGHOST, wherever that is.
        for pghost in [("PGHOST", "db.example.org"), ("PGHOSTADDR", "10.0.0.5")] {
            let choice = choose("postgres:///db", env(&[pghost]));
            assert_eq!(choice.url, "postgres:///db");
            assert!(choice.warning.is_some(), "{pghost:?}");
        }
    }

    #[test]
    fn a_url_read_otherwise_by_libpq_or_completed_by_a_service_file_is_passed_on_as_it_is() {
        for (passed, warned) in [
            ("postgres://u@db1:5432,db2:5432/db", true),
            (
                "postgres://u@db1:5432,db2:5432/db?sslmode=verify-full",
                false,
            ),
            // libpq reads `host=` here; the URL grammar, a fragment.
            ("postgres://u@localhost/db#?host=db.example.org", true),
            ("postgres:///?service=production", false),
        ] {
            let choice = choose(passed, no_env);
            assert_eq!(choice.url, passed);
            assert_eq!(choice.warning.is_some(), warned, "{passed}");
        }
        let choice = choose("postgres:///db", env(&[("PGSERVICE", "production")]));
        assert_eq!(choice.url, "postgres:///db");
    }
}
