//! The user aggregate, pure: `decide` turns a command and the current state into events or a
//! rejection; `evolve` applies an event. No clock, no randomness, no I/O: times come from the
//! command's envelope and ids are derived from the command id, so reprocessing a command from the
//! same state yields byte-identical events.
//!
//! Rejections carry a stable `RejectionCode` (the contracts' enum); the bounds of every field are
//! the contracts' types, parsed before a command reaches `decide`.

mod collections;
mod decide;
mod devices;
mod episode_actions;
mod episodes;
mod evolve;
mod playlists;
mod privacy;
mod state;
mod subscriptions;
pub mod sync;

pub use collections::MAX_COLLECTIONS;
pub use decide::{Decision, MAX_CLOCK_SKEW, Rejection, decide, effective_time, is_clamped};
pub use devices::MAX_DEVICES;
pub use episodes::MAX_EPISODES;
pub use evolve::evolve;
pub use playlists::{
    MAX_DELETED_PLAYLISTS, MAX_PLAYLIST_ITEMS, MAX_PLAYLISTS, MAX_REMOVED_BYTES, MAX_REMOVED_ITEMS,
};
pub use privacy::MAX_PRIVACY_SETTINGS;
pub use state::{
    Collection, DeletedPlaylist, Device, Episode, KeptRemovals, Playlist, PlaylistItem,
    RECENT_COMMANDS, Subscription, UserState,
};
pub use subscriptions::{DEFAULT_COLLECTION_ID, MAX_SUBSCRIPTIONS};

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
