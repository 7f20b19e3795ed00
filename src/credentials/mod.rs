//! A portable, verifiable passport: W3C Verifiable Credentials secured as JWTs (VC-JWT), signed
//! by the service's key, with their revocation published as a Bitstring Status List.
//!
//! The issuer is the service as `did:web` of its public URL (or, for a badge of what an
//! organisation issued, the organisation's DID under it); the DID documents list the same keys
//! as the JWKS, so anyone can verify a credential offline with the JWKS alone (a badge's `kid`
//! is a DID URL whose fragment is the JWKS `kid`), and DID-based wallets accept it too.
//!
//! - [`model`]: the API's types;
//! - [`issue`]: the chosen records and attainments as signed credentials, in the format asked:
//!   the passport's own ([`passport`]), Open Badges 3.0 or CLR 2.0 ([`badge`], [`ob3`]), bound
//!   to their holder by salted hashes ([`recipient`]);
//! - [`verify`]: checking a credential as a verifier would;
//! - [`status`]: the revocation status lists;
//! - [`did`]: the service's `did:web` and its DID document;
//! - [`store`]: the `credentials` table.

pub mod badge;
pub mod context;
pub mod did;
pub mod handlers;
pub mod issue;
pub mod model;
pub mod ob3;
pub mod passport;
pub mod recipient;
pub mod signer;
pub mod status;
pub mod store;
pub mod verify;

pub use did::{did, did_document};
pub use issue::issue;
pub use model::*;
pub use store::{get, list, revoke, revoke_all};
pub use verify::verify;

/// The JWT type of every credential the service signs (VC-JOSE-COSE), checked on the way back
/// in so that no other token the service signs can pass for a credential (RFC 8725 3.11).
pub const CREDENTIAL_TYPE: &str = "vc+jwt";

/// Live (neither revoked nor expired) credentials one person may hold at once.
pub const MAX_LIVE_PER_PERSON: i64 = 100;
/// Records one credential may hold.
pub const MAX_RECORDS: usize = 500;
