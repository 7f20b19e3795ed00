//! The passport's own JSON-LD context, so that its credential expands in JSON-LD safe mode:
//! every term of its own (`LearningPassportCredential`, `records`, `attainments`, `name` and
//! everything inside them) is a term of the passport's vocabulary.

use serde_json::{Value, json};

/// Where the context is served, under the public URL.
pub const PATH: &str = "/contexts/passport/v1";

/// The context's URL, as credentials name it.
pub fn url(public_url: &str) -> String {
    format!("{}{PATH}", public_url.trim_end_matches('/'))
}

/// The context document: the passport's vocabulary is the context's URL with `#`, and every
/// term no other context of the credential defines is one of its terms (`TrainingRecord` is
/// `{url}#TrainingRecord`, `completedAt` is `{url}#completedAt`).
pub fn document(public_url: &str) -> Value {
    json!({
        "@context": {
            "@version": 1.1,
            "@vocab": format!("{}#", url(public_url)),
        }
    })
}
