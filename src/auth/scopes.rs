//! Organisation client scopes.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// What an organisation client may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum Scope {
    /// Push completions and verify attainments, under write grants.
    #[serde(rename = "records:write")]
    RecordsWrite,
    /// Read shared passports, run compliance checks, manage requirement profiles.
    #[serde(rename = "shared:read")]
    SharedRead,
    /// The host's administration: every organisation and its clients, frameworks and the
    /// activity catalogue.
    #[serde(rename = "admin")]
    Admin,
    /// The organisation's own administration: list, add and revoke its own clients, with no
    /// more than the caller's own scopes.
    #[serde(rename = "clients:manage")]
    ClientsManage,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::RecordsWrite,
        Scope::SharedRead,
        Scope::Admin,
        Scope::ClientsManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RecordsWrite => "records:write",
            Scope::SharedRead => "shared:read",
            Scope::Admin => "admin",
            Scope::ClientsManage => "clients:manage",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A set of scopes, written space-separated as in OAuth 2.0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Parses a space-separated list, refusing unknown names.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let mut set = BTreeSet::new();
        for name in value.split_whitespace() {
            let scope = Scope::parse(name).ok_or_else(|| {
                Error::invalid(
                    "scopes",
                    format!(
                        "unknown scope `{name}` (known: records:write, shared:read, clients:manage, admin)"
                    ),
                )
            })?;
            set.insert(scope);
        }
        Ok(Scopes(set))
    }

    /// Parses what the service itself wrote, ignoring names it no longer knows.
    pub fn parse_lenient(value: &str) -> Self {
        Scopes(value.split_whitespace().filter_map(Scope::parse).collect())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}
