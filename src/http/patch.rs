//! JSON merge patch fields (RFC 7396): absent keeps a value, `null` clears it.

use serde::{Deserialize, Deserializer};

/// A field of a patch document.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Not in the document: keep the current value.
    #[default]
    Keep,
    /// `null`: clear the value.
    Clear,
    /// A new value.
    Set(T),
}

impl<T: Clone> Patch<T> {
    /// Applies the patch to a value; answers the new value when one was set, for validation.
    pub fn apply<'a>(&'a self, target: &mut Option<T>) -> Option<&'a T> {
        match self {
            Patch::Keep => None,
            Patch::Clear => {
                *target = None;
                None
            }
            Patch::Set(value) => {
                *target = Some(value.clone());
                Some(value)
            }
        }
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Patch<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Ok(match Option::<T>::deserialize(deserializer)? {
        None => Patch::Clear,
        Some(value) => Patch::Set(value),
    })
}
