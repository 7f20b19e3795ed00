//! The issuer and audience of the service's own tokens, as the service last started with them.
//!
//! Each instance records them in its database as it starts (`service_identity`, one row).
//! `token person`, pointed at the same database, signs with them unless it is told otherwise,
//! so that a token minted on the command line is one the running service accepts, whatever
//! `--public-url`, `--addr` or `--token-audience` the service was started with.

use chrono::SecondsFormat;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::service_identity;
use crate::db::types::Timestamp;
use crate::error::Error;

/// The one row's key.
const ROW: i32 = 1;

/// What a service instance recorded as it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub issuer: String,
    pub audience: String,
    pub recorded_at: Timestamp,
}

/// Records the issuer and audience an instance signs and accepts its tokens with. Instances
/// behind one load balancer share these settings; when they do not, the last one started is
/// the one recorded.
pub fn record(conn: &mut DbConnection, issuer: &str, audience: &str) -> Result<(), Error> {
    let now = Timestamp::now();
    let values = || {
        (
            service_identity::issuer.eq(Some(issuer)),
            service_identity::audience.eq(Some(audience)),
            service_identity::recorded_at.eq(Some(now)),
        )
    };
    let updated = diesel::update(service_identity::table.find(ROW))
        .set(values())
        .execute(conn)?;
    if updated == 0 {
        // The migration's row is gone (deleted by hand): put it back. Another instance doing
        // the same at this moment records the same settings, so its row is as good as ours.
        match diesel::insert_into(service_identity::table)
            .values((service_identity::id.eq(ROW), values()))
            .execute(conn)
        {
            Ok(_)
            | Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// What the service last started with on this database; `None` when no service has started on
/// it yet.
pub fn recorded(conn: &mut DbConnection) -> Result<Option<Recorded>, Error> {
    let row: Option<(Option<String>, Option<String>, Option<Timestamp>)> = service_identity::table
        .find(ROW)
        .select((
            service_identity::issuer,
            service_identity::audience,
            service_identity::recorded_at,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((Some(issuer), Some(audience), Some(recorded_at))) => Some(Recorded {
            issuer,
            audience,
            recorded_at,
        }),
        _ => None,
    })
}

/// A setting of the command, and whether it was given (as a flag or in the environment) rather
/// than left at its default.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    pub given: bool,
}

/// The issuer and audience a command signs a token with, and what its operator should be told
/// about them (on standard error, apart from the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub issuer: String,
    pub audience: String,
    pub note: Option<String>,
}

/// What a setting given to the command wins over: what the service recorded; what the service
/// recorded wins over a default.
pub fn choose(issuer: Setting, audience: Setting, recorded: Option<&Recorded>) -> Chosen {
    let Some(recorded) = recorded else {
        let note = (!issuer.given || !audience.given).then(|| {
            format!(
                "note: no service has started on this database yet, so the token names the \
                 issuer {} and the audience {}. A service started with other settings refuses \
                 it: give this command the service's --public-url (or --addr) and \
                 --token-audience, or PASSPORT_PUBLIC_URL (or PASSPORT_ADDR) and \
                 PASSPORT_TOKEN_AUDIENCE, or start the service once first.",
                issuer.value, audience.value
            )
        });
        return Chosen {
            issuer: issuer.value,
            audience: audience.value,
            note,
        };
    };
    let pick = |setting: Setting, recorded: &str| match setting.given {
        true => setting.value,
        false => recorded.to_owned(),
    };
    let issuer = pick(issuer, &recorded.issuer);
    let audience = pick(audience, &recorded.audience);
    let note = (issuer != recorded.issuer || audience != recorded.audience).then(|| {
        format!(
            "warning: the service last started on this database (at {}) accepts tokens with \
             the issuer {} and the audience {}; this token names the issuer {} and the \
             audience {}, and that service refuses it. Leave out --public-url, --addr and \
             --token-audience (and their PASSPORT_ settings) to mint a token it accepts.",
            recorded
                .recorded_at
                .0
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            recorded.issuer,
            recorded.audience,
            issuer,
            audience
        )
    });
    Chosen {
        issuer,
        audience,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(value: &str) -> Setting {
        Setting {
            value: value.into(),
            given: true,
        }
    }

    fn default(value: &str) -> Setting {
        Setting {
            value: value.into(),
            given: false,
        }
    }

    fn service() -> Recorded {
        Recorded {
            issuer: "https://passport.example.org".into(),
            audience: "passport".into(),
            recorded_at: Timestamp::now(),
        }
    }

    #[test]
    fn the_recorded_settings_win_over_defaults_and_given_ones_over_both() {
        let recorded = service();
        let chosen = choose(
            default("http://127.0.0.1:8080"),
            default("learning-passport"),
            Some(&recorded),
        );
        assert_eq!(
            (chosen.issuer.as_str(), chosen.audience.as_str()),
            ("https://passport.example.org", "passport")
        );
        assert_eq!(chosen.note, None);

        // Given and the same: nothing to say.
        let chosen = choose(
            given("https://passport.example.org"),
            default("learning-passport"),
            Some(&recorded),
        );
        assert_eq!(chosen.note, None);

        // Given and different: minted as asked, with a warning naming what the service accepts.
        let chosen = choose(
            given("http://other:9000"),
            default("learning-passport"),
            Some(&recorded),
        );
        assert_eq!(
            (chosen.issuer.as_str(), chosen.audience.as_str()),
            ("http://other:9000", "passport")
        );
        let note = chosen.note.unwrap();
        assert!(note.starts_with("warning:"), "{note}");
        assert!(note.contains("https://passport.example.org"), "{note}");
    }

    #[test]
    fn with_nothing_recorded_the_defaults_are_used_and_the_note_says_what_to_pass() {
        let chosen = choose(
            default("http://127.0.0.1:8080"),
            default("learning-passport"),
            None,
        );
        assert_eq!(chosen.issuer, "http://127.0.0.1:8080");
        let note = chosen.note.unwrap();
        assert!(note.contains("--public-url"), "{note}");
        assert!(note.contains("PASSPORT_PUBLIC_URL"), "{note}");

        let chosen = choose(given("https://p.example"), given("p"), None);
        assert_eq!(chosen.note, None);
    }
}
