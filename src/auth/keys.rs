//! The service's signing keys (Ed25519), kept as PKCS#8 PEM files under `DATA_DIR/keys/`.
//!
//! Every key file in the folder verifies; the newest (file names start with their creation
//! time) signs. Rotation is adding a key (`keys rotate`): what older keys signed keeps verifying
//! until they are removed (`keys retire KID`). Several instances share keys by sharing the
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
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::Error;

/// One signing key.
pub struct ServiceKey {
    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    pub kid: String,
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
            x,
            encoding,
            decoding,
        })
    }
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
            .map(|path| ServiceKey::from_pem(&fs::read_to_string(path).map_err(io)?))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyRing { keys })
    }

    /// Writes a new key into `dir` (mode 0600) and answers its kid. It signs from the next start.
    pub fn generate(dir: &Path) -> Result<String, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("key folder {}: {e}", dir.display()));
        crate::db::files::private_folder(dir)?;
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| Error::Internal(format!("could not encode key: {e}")))?;
        let name = format!(
            "{}-ed25519.pem",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
        );
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(name))
            .map_err(io)?;
        file.write_all(pem.as_bytes()).map_err(io)?;
        Ok(ServiceKey::from_pem(&pem)?.kid)
    }

    /// The key that signs.
    pub fn active(&self) -> &ServiceKey {
        // load_or_create guarantees at least one key.
        self.keys.last().expect("a key ring holds at least one key")
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

    /// Removes a key that no longer signs: what it signed stops verifying. The signing key (the
    /// newest) cannot be retired; rotate first.
    pub fn retire(dir: &Path, kid: &str) -> Result<(), Error> {
        let keys = Self::list(dir)?;
        let position = keys
            .iter()
            .position(|(k, _)| k == kid)
            .ok_or_else(|| Error::NotFound(format!("no key {kid}")))?;
        if position == keys.len() - 1 {
            return Err(Error::Conflict("this key signs; run `keys rotate` first, then retire it once what it signed has expired".into()));
        }
        fs::remove_file(&keys[position].1)
            .map_err(|e| Error::Internal(format!("could not remove the key: {e}")))
    }

    /// Signs claims as a JWT with the active key.
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, Error> {
        let key = self.active();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
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
