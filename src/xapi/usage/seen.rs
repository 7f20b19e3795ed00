//! What this process last read of each organisation's usage: lets a request skip reading it
//! where it surely leaves room, and tells whether every slot of an organisation is committed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Usage;
use crate::db::ids::OrganisationId;

/// What this process last read of an organisation's usage.
#[derive(Clone, Copy)]
struct Seen {
    usage: Usage,
    /// Every slot was seen committed. Slots are only ever created, never removed (but with
    /// their organisation), so this stays true.
    every_slot: bool,
}

static LAST_SEEN: std::sync::LazyLock<Mutex<HashMap<OrganisationId, Seen>>> =
    std::sync::LazyLock::new(Mutex::default);

pub(super) fn remember(organisation_id: OrganisationId, usage: Usage, every_slot_committed: bool) {
    if let Ok(mut seen) = LAST_SEEN.lock() {
        let every_slot = every_slot_committed
            || seen
                .get(&organisation_id)
                .is_some_and(|before| before.every_slot);
        seen.insert(organisation_id, Seen { usage, every_slot });
    }
}

fn last_seen(organisation_id: OrganisationId) -> Option<Seen> {
    LAST_SEEN.lock().ok()?.get(&organisation_id).copied()
}

/// The organisation's usage as this process last read it.
pub(super) fn last_usage(organisation_id: OrganisationId) -> Option<Usage> {
    last_seen(organisation_id).map(|seen| seen.usage)
}

/// Whether this process has seen every slot of the organisation committed.
pub(super) fn every_slot_seen(organisation_id: OrganisationId) -> bool {
    last_seen(organisation_id).is_some_and(|seen| seen.every_slot)
}
