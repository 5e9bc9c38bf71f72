//! Privacy settings. Only the three known values are accepted: an unknown one is rejected, never
//! read as "public".

use super::decide::{Ruling, limit};
use super::state::UserState;
use balados_schemas::{EventPayload, Privacy, Scope};

/// Per-feed and per-episode settings one user may hold.
pub const MAX_PRIVACY_SETTINGS: usize = 10_000;

pub fn change(state: &UserState, scope: &Scope, privacy: Privacy) -> Ruling {
    match state.privacy.get(scope) {
        Some(current) if *current == privacy => return Ok(vec![]),
        None if state.privacy.len() >= MAX_PRIVACY_SETTINGS => {
            return Err(limit("privacy settings", MAX_PRIVACY_SETTINGS));
        }
        _ => {}
    }
    Ok(vec![EventPayload::PrivacyChanged {
        scope: scope.clone(),
        privacy,
    }])
}
