//! Keys, tokens and callers.

pub mod attempts;
pub mod clients;
pub mod grant;
pub mod handlers;
pub mod issuer;
pub mod keys;
pub mod oidc;
pub mod principal;
pub mod scopes;
pub mod secrets;
pub mod tokens;
mod verified;

pub use principal::{Caller, Me, MyIdentity, OrgCaller, OrgToken};
pub use scopes::{Scope, Scopes};
