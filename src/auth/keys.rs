//! The service's signing keys (Ed25519), kept as PKCS#8 PEM files under `DATA_DIR/keys/`.
//!
//! Every key file in the folder verifies and is published in the JWKS and the DID document;
//! the newest key published for at least [`JWKS_MAX_AGE_SECONDS`] signs (file names start with
//! the time the key was published), so that a verifier holding a cached JWKS already knows a
//! key when it first sees it. Rotation is adding a key (`keys rotate`; `--now` for one that
//! signs at once, after a compromise): what older keys signed keeps verifying until they are
//! removed (`keys retire KID`). Several instances share keys by sharing the
//! folder (a volume or a secret mount); each reads it again as soon as the folder changes (and
//! every 30 seconds, for file systems that do not say so), so a rotation reaches every instance
//! without a restart.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::Error;

/// How long verifiers may cache the JWKS and the DID document (`Cache-Control: max-age`), and
/// so how long a new key is published before it signs.
pub const JWKS_MAX_AGE_SECONDS: i64 = 300;

/// The file-name prefix that records when a key was published.
const PUBLISHED_FORMAT: &str = "%Y%m%dT%H%M%S%.6fZ";

/// One signing key.
pub struct ServiceKey {
    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    pub kid: String,
    /// When it may sign, from its file name: [`JWKS_MAX_AGE_SECONDS`] after it was published,
    /// or at once for a key made to sign at once; `None` for a file named otherwise, taken as
    /// published long ago.
    pub signs_from: Option<DateTime<Utc>>,
    /// The public key, base64url (the JWK `x` member).
    pub x: String,
    encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

/// The keys the service signs and verifies with.
pub struct KeyRing {
    /// Oldest first; the last one signs.
    keys: Vec<ServiceKey>,
}

/// How often the key folder is read again.
const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// An unknown key id reloads the folder at most this often.
const MIN_RELOAD_GAP: Duration = Duration::from_secs(2);

/// The service's keys, reloaded from their folder as it changes.
pub struct Keys {
    dir: PathBuf,
    ring: RwLock<Arc<KeyRing>>,
    /// When the folder was last read, and its modification time then.
    loaded: Mutex<(Instant, Option<std::time::SystemTime>)>,
}

fn modified(dir: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(dir).and_then(|m| m.modified()).ok()
}

impl Keys {
    /// Loads the folder, creating it and a first key if there is none.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let ring = KeyRing::load_or_create(dir)?;
        Ok(Keys {
            dir: dir.to_path_buf(),
            ring: RwLock::new(Arc::new(ring)),
            loaded: Mutex::new((Instant::now(), modified(dir))),
        })
    }

    fn reload(&self, older_than: Duration) {
        let Ok(mut loaded) = self.loaded.lock() else {
            return;
        };
        let changed = modified(&self.dir);
        if loaded.0.elapsed() < older_than && changed == loaded.1 {
            return;
        }
        *loaded = (Instant::now(), changed);
        match KeyRing::load(&self.dir) {
            Ok(ring) if !ring.keys.is_empty() => {
                if let Ok(mut current) = self.ring.write() {
                    *current = Arc::new(ring);
                }
            }
            Ok(_) => {
                tracing::error!(dir = %self.dir.display(), "the key folder holds no key; keeping the keys in memory")
            }
            Err(error) => {
                tracing::error!(%error, "could not reload the keys; keeping the keys in memory")
            }
        }
    }

    /// The keys as they are now (read again from the folder at most every 30 seconds).
    pub fn current(&self) -> Arc<KeyRing> {
        self.reload(RELOAD_EVERY);
        self.ring
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// The decoding key for a key id, reading the folder again if the id is unknown.
    pub fn decoding(&self, kid: &str) -> Option<DecodingKey> {
        if let Some(key) = self.current().find(kid) {
            return Some(key.decoding.clone());
        }
        self.reload(MIN_RELOAD_GAP);
        self.current().find(kid).map(|k| k.decoding.clone())
    }

    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, Error> {
        self.current().sign(claims, typ)
    }

    pub fn active_kid(&self) -> String {
        self.current().active().kid.clone()
    }

    pub fn jwks(&self) -> Jwks {
        self.current().jwks()
    }
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The public keys.
    pub keys: Vec<PublicJwk>,
}

/// A public Ed25519 key as a JWK (RFC 8037).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicJwk {
    /// Always `OKP`.
    pub kty: &'static str,
    /// Always `Ed25519`.
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    /// The key id, as in the `kid` header of what it signed.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub key_use: &'static str,
}

fn thumbprint(x: &str) -> String {
    // RFC 7638: the required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl ServiceKey {
    fn from_pem(pem: &str) -> Result<Self, Error> {
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| Error::Internal(format!("unreadable signing key: {e}")))?;
        let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| Error::Internal(format!("unusable signing key: {e}")))?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let decoding = DecodingKey::from_ed_components(&x)
            .map_err(|e| Error::Internal(format!("unusable public key: {e}")))?;
        Ok(ServiceKey {
            kid: thumbprint(&x),
            signs_from: None,
            x,
            encoding,
            decoding,
        })
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// It signs.
    Signs,
    /// Published, not yet signing: verifiers' cached JWKS may not hold it yet.
    Published { signs_from: DateTime<Utc> },
    /// It only verifies what it signed.
    Verifies,
}

/// The end of the name of a key made to sign at once.
const SIGNS_AT_ONCE: &str = "now-ed25519.pem";

/// When a key file may sign, from its name: it begins with the time the key was published.
fn signs_from(path: &Path) -> Option<DateTime<Utc>> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.split('-').next()?;
    let published = NaiveDateTime::parse_from_str(stamp, PUBLISHED_FORMAT)
        .ok()?
        .and_utc();
    Some(if name.ends_with(SIGNS_AT_ONCE) {
        published
    } else {
        published + chrono::Duration::seconds(JWKS_MAX_AGE_SECONDS)
    })
}

/// The key files in `dir`, oldest first: their names begin with the time they were made.
fn key_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::Internal(format!("key folder {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "pem"))
        .collect();
    files.sort();
    Ok(files)
}

impl KeyRing {
    /// Loads every key in `dir`, creating the folder and a first key if there is none.
    pub fn load_or_create(dir: &Path) -> Result<Self, Error> {
        let mut ring = Self::load(dir)?;
        if ring.keys.is_empty() {
            Self::generate(dir)?;
            ring = Self::load(dir)?;
        }
        Ok(ring)
    }

    /// Loads every `*.pem` key in `dir`, oldest first.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("key folder {}: {e}", dir.display()));
        crate::db::files::private_folder(dir)?;
        let keys = key_files(dir)?
            .iter()
            .map(|path| {
                let mut key = ServiceKey::from_pem(&fs::read_to_string(path).map_err(io)?)?;
                key.signs_from = signs_from(path);
                Ok(key)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(KeyRing { keys })
    }

    /// Writes a new key into `dir` (mode 0600) and answers its kid. It is published at once
    /// and signs once it has been published for [`JWKS_MAX_AGE_SECONDS`].
    pub fn generate(dir: &Path) -> Result<String, Error> {
        Self::generate_named(dir, "ed25519.pem")
    }

    /// Writes a new key that signs at once (after a compromise of the signing key): verifiers
    /// holding a cached JWKS fetch it again when they meet its key id.
    pub fn generate_signing_now(dir: &Path) -> Result<String, Error> {
        Self::generate_named(dir, SIGNS_AT_ONCE)
    }

    /// Writes a new key named `{now}-{suffix}`.
    fn generate_named(dir: &Path, suffix: &str) -> Result<String, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("key folder {}: {e}", dir.display()));
        crate::db::files::private_folder(dir)?;
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| Error::Internal(format!("could not encode key: {e}")))?;
        let name = format!("{}-{suffix}", Utc::now().format(PUBLISHED_FORMAT));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(name))
            .map_err(io)?;
        file.write_all(pem.as_bytes()).map_err(io)?;
        Ok(ServiceKey::from_pem(&pem)?.kid)
    }

    /// The key that signs: the newest whose time to sign has come (published for at least
    /// [`JWKS_MAX_AGE_SECONDS`], or made to sign at once), or the oldest while none has (a first
    /// key signs at once: no key set was published before it).
    pub fn active(&self) -> &ServiceKey {
        self.active_at(Utc::now())
    }

    fn active_at(&self, now: DateTime<Utc>) -> &ServiceKey {
        self.keys
            .iter()
            .rev()
            .find(|k| k.signs_from.is_none_or(|at| at <= now))
            .or(self.keys.first())
            // load_or_create guarantees at least one key.
            .expect("a key ring holds at least one key")
    }

    /// Where each key is in its life, oldest first: those before the signing key only verify,
    /// those after it wait to sign.
    pub fn states(&self) -> Vec<(&ServiceKey, KeyState)> {
        let active = self.active().kid.clone();
        let mut seen_active = false;
        self.keys
            .iter()
            .map(|k| {
                let state = if k.kid == active {
                    seen_active = true;
                    KeyState::Signs
                } else if seen_active {
                    KeyState::Published {
                        signs_from: k.signs_from.unwrap_or_else(Utc::now),
                    }
                } else {
                    KeyState::Verifies
                };
                (k, state)
            })
            .collect()
    }

    pub fn find(&self, kid: &str) -> Option<&ServiceKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every key, oldest first, with its file.
    pub fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("key folder {}: {e}", dir.display()));
        key_files(dir)?
            .into_iter()
            .map(|path| {
                Ok((
                    ServiceKey::from_pem(&fs::read_to_string(&path).map_err(io)?)?.kid,
                    path,
                ))
            })
            .collect()
    }

    /// Removes a key that does not sign: what it signed stops verifying (the command line
    /// first counts the credentials it signed that have not expired). The signing key cannot be
    /// retired; rotate first.
    pub fn retire(dir: &Path, kid: &str) -> Result<(), Error> {
        let keys = Self::list(dir)?;
        let position = keys
            .iter()
            .position(|(k, _)| k == kid)
            .ok_or_else(|| Error::NotFound(format!("no key {kid}")))?;
        if Self::load(dir)?.active().kid == kid {
            return Err(Error::Conflict("this key signs; run `keys rotate` first, then retire it once what it signed has expired".into()));
        }
        fs::remove_file(&keys[position].1)
            .map_err(|e| Error::Internal(format!("could not remove the key: {e}")))
    }

    /// Signs claims as a JWT with the active key.
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, Error> {
        self.sign_with(&self.active().kid.clone(), claims, typ)
    }

    /// Signs claims as a JWT with the key of this id (one the caller read as active).
    pub fn sign_with<T: Serialize>(
        &self,
        kid: &str,
        claims: &T,
        typ: &str,
    ) -> Result<String, Error> {
        self.sign_naming(kid, kid, claims, typ)
    }

    /// Signs claims with the key of this id, naming it in the JWT header as `named` (a DID URL of
    /// the key, `did:web:…#kid`, for verifiers that resolve the issuer's DID).
    pub fn sign_naming<T: Serialize>(
        &self,
        kid: &str,
        named: &str,
        claims: &T,
        typ: &str,
    ) -> Result<String, Error> {
        let key = self
            .find(kid)
            .ok_or_else(|| Error::Internal(format!("no signing key {kid}")))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(named.to_owned());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| Error::Internal(format!("signing failed: {e}")))
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .rev()
                .map(|k| PublicJwk {
                    kty: "OKP",
                    crv: "Ed25519",
                    x: k.x.clone(),
                    kid: k.kid.clone(),
                    alg: "EdDSA",
                    key_use: "sig",
                })
                .collect(),
        }
    }
}

/// A 32-byte secret kept in the keys folder under `file`, made (mode 0600, from the OS random
/// source) the first time it is asked for. Every instance must see the same folder, as for the
/// signing keys; if two start at once, the file the first one wrote is the one both use.
pub fn secret_file(dir: &Path, file: &str) -> Result<[u8; 32], Error> {
    use base64::engine::general_purpose::STANDARD;
    use rand::RngCore;

    let path = dir.join(file);
    let io = |e: std::io::Error| Error::Internal(format!("{}: {e}", path.display()));
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut created) => created
            .write_all(STANDARD.encode(key).as_bytes())
            .map_err(io)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    let text = fs::read_to_string(&path).map_err(io)?;
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or_else(|| Error::Internal(format!("{} is not a 32-byte key", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_once_verifiers_can_know_it_and_an_urgent_one_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::generate(dir.path()).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.active().kid, first, "a first key signs at once");

        let later = Utc::now() + chrono::Duration::seconds(JWKS_MAX_AGE_SECONDS + 1);
        let published = KeyRing::generate(dir.path()).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.active().kid, first, "a new key waits");
        assert_eq!(ring.active_at(later).kid, published, "then signs");

        // An urgent key signs at once, and a key published before it never signs again.
        let urgent = KeyRing::generate_signing_now(dir.path()).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.active().kid, urgent);
        assert_eq!(ring.active_at(later).kid, urgent);
        let states: Vec<KeyState> = ring.states().into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            states,
            [KeyState::Verifies, KeyState::Verifies, KeyState::Signs]
        );
    }
}
