//! The codes themselves: made from the OS random source, read back however a person typed or
//! spoke them, and kept only as a keyed digest ([`CodeKey`]).
//!
//! A code is 10 symbols of Crockford's base32 (50 bits), shown in two groups of five
//! (`K7Q2M-9XH4D`) so that it can be read aloud. Crockford's alphabet leaves out I, L, O and U;
//! when a code is read back, case is ignored, dashes and spaces are dropped, and the letters
//! people confuse with digits are taken for them (O for 0, I and L for 1).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code: 5 bits each.
pub const LENGTH: usize = 10;
/// The bits of chance in a code.
pub const ENTROPY_BITS: u32 = 50;

/// A new code, grouped for reading (`K7Q2M-9XH4D`).
pub fn generate() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut bits = u64::from_le_bytes(bytes);
    let mut symbols = String::with_capacity(LENGTH + 1);
    for i in 0..LENGTH {
        if i == LENGTH / 2 {
            symbols.push('-');
        }
        symbols.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    symbols
}

/// The code as stored: its canonical form (10 symbols, upper case, no dash), or `None` when
/// what was typed cannot be a code.
pub fn canonical(typed: &str) -> Option<String> {
    let mut symbols = String::with_capacity(LENGTH);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if symbols.len() == LENGTH {
            return None;
        }
        symbols.push(c);
    }
    (symbols.len() == LENGTH).then_some(symbols)
}

/// The secret that a code's stored digest is keyed with (`share-codes.key` in the keys folder):
/// fifty bits of chance are hopeless to guess through the rate-limited API, but not against a
/// plain hash in a copy of the database, which could be searched offline within a code's life.
/// Keyed, the digests of a stolen copy say nothing without the key.
pub struct CodeKey(Hmac<Sha256>);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey")
    }
}

impl CodeKey {
    const FILE: &str = "share-codes.key";

    /// Loads the key from the keys folder, making it the first time.
    pub fn open(keys_dir: &std::path::Path) -> Result<Self, crate::error::Error> {
        let key = crate::auth::keys::secret_file(keys_dir, Self::FILE)?;
        Self::from_bytes(&key)
    }

    fn from_bytes(key: &[u8]) -> Result<Self, crate::error::Error> {
        <Hmac<Sha256> as Mac>::new_from_slice(key)
            .map(CodeKey)
            .map_err(|_| crate::error::Error::Internal("bad share code key".into()))
    }

    /// What is stored of a code: HMAC-SHA256 of its canonical form under the key, in hex.
    pub fn digest(&self, canonical: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(canonical.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_ten_symbols_grouped_in_fives() {
        let code = generate();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert_eq!(canonical(&code).unwrap(), code.replace('-', ""));
        assert_ne!(generate(), code);
    }

    #[test]
    fn a_code_reads_back_however_it_was_typed() {
        let stored = canonical("K7Q2M-9XH4D").unwrap();
        for typed in ["k7q2m9xh4d", "K7Q2M 9XH4D", " k7q2m-9xh4d ", "K7Q2M-9XH4D"] {
            assert_eq!(
                canonical(typed).as_deref(),
                Some(stored.as_str()),
                "{typed}"
            );
        }
        // The letters mistaken for digits are the digits.
        assert_eq!(canonical("O1ILo-00000").unwrap(), "0111000000");
    }

    #[test]
    fn what_cannot_be_a_code_is_refused() {
        for typed in [
            "",
            "K7Q2M",
            "K7Q2M-9XH4DA",
            "K7Q2M-9XH4U",
            "K7Q2M-9XH4é",
            "K7Q2M_9XH4D",
        ] {
            assert_eq!(canonical(typed), None, "{typed}");
        }
    }

    #[test]
    fn the_digest_is_keyed_and_reads_every_form_of_a_code_alike() {
        let key = CodeKey::from_bytes(&[7; 32]).unwrap();
        let other = CodeKey::from_bytes(&[8; 32]).unwrap();
        assert_eq!(key.digest("0000000000").len(), 64);
        assert_eq!(
            key.digest(&canonical("k7q2m-9xh4d").unwrap()),
            key.digest("K7Q2M9XH4D")
        );
        assert_ne!(key.digest("K7Q2M9XH4D"), other.digest("K7Q2M9XH4D"));
    }
}
