//! What xAPI 2.0 (IEEE 9274.1.1-2023) changes for an LRS, beside the 1.0.3 rules the rest of
//! [`crate::xapi`] implements. A request naming `X-Experience-API-Version: 2.0.x` is answered
//! by these rules, one naming 1.0.x by 1.0.3's; statements stored under either version are
//! queryable by clients of the other.
//!
//! - Versions ([`super::version`]): 2.0 and 2.0.x are accepted beside every 1.0.x, anything
//!   else (2.1.0, 1.1.0, none) is 400; answers name 2.0.0 or 1.0.3 as the request did, and the
//!   About resource lists both (but to a 1.0.x client, which 1.0.3 allows only 1.0.x).
//! - Context agents and groups ([`context`]): `context.contextAgents` and
//!   `context.contextGroups`, in statements and SubStatements, with their rules (objectType
//!   `contextAgent` / `contextGroup`, an Agent / a Group, `relevantTypes` one IRI or more). A
//!   1.0.x request using them is refused: 1.0.3 has no such properties.
//! - The statement `version` ([`data`]): "2.0.0" when a 2.0 client gives none; a 2.0 client
//!   may send 1.0.x or 2.0.x; a stored statement keeps the version it was accepted with.
//! - Timestamps ([`data`]): ISO 8601 with a time zone, or RFC 3339 (which 2.0 names, and which
//!   allows a space between date and time; stored with a `T`); an offset of -00:00 (RFC 3339's
//!   "unknown local offset") is refused, as in 1.0.x here.
//! - Answers ([`answer`]): a 1.0.x client gets 2.0 statements without the 2.0-only context
//!   properties (its data model has none), with everything else, `version` included, as
//!   stored; `format=ids` reduces context agents and groups to their identifiers.
//! - Documents: 2.0 extends optimistic concurrency to the State resource (a PUT over an
//!   existing state document needs `If-Match` or `If-None-Match`, else 409), see
//!   [`super::documents::Preconditions`]. Merging (POST) is unchanged.
//! - Communication: no Alternate Request Syntax ([`super::version::alternate_syntax_allowed`]);
//!   `Last-Modified` on statement answers (the `stored` of the statement, or the newest of a
//!   page) and on documents, for both versions.

pub mod answer;
pub mod context;
pub mod data;
