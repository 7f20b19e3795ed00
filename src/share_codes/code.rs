//! The codes themselves: made from the OS random source, read back however a person typed or
//! spoke them, and kept only as a SHA-256.
//!
//! A code is 10 symbols of Crockford's base32 (50 bits), shown in two groups of five
//! (`K7Q2M-9XH4D`) so that it can be read aloud. Crockford's alphabet leaves out I, L, O and U;
//! when a code is read back, case is ignored, dashes and spaces are dropped, and the letters
//! people confuse with digits are taken for them (O for 0, I and L for 1).

use rand::RngCore;
use sha2::{Digest, Sha256};

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

/// What is stored of a code: the SHA-256 of its canonical form, in hex. A code carries enough
/// chance and lives briefly enough that no slow hash is needed.
pub fn digest(canonical: &str) -> String {
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
    fn the_digest_is_the_sha256_of_the_canonical_form() {
        assert_eq!(digest("0000000000").len(), 64);
        assert_eq!(
            digest(&canonical("k7q2m-9xh4d").unwrap()),
            digest("K7Q2M9XH4D")
        );
    }
}
