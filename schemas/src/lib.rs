//! The contracts of Balados Sync: the Avro schemas in `avro/`, typed commands, events, state
//! records and results, their Avro codec in the Confluent wire format, the topic catalogue and the
//! id encodings used in URLs. Depends on no service; the codec and the registry client (HTTP) are
//! behind the `registry` feature (on by default), which the pure domain crate leaves out.

pub mod avro;
pub mod binary;
#[cfg(feature = "registry")]
pub mod codec;
pub mod command;
mod declare;
pub mod event;
pub mod fields;
pub mod ids;
pub mod mapping;
pub mod public;
#[cfg(feature = "registry")]
pub mod registry_client;
pub mod rejection;
pub mod resolve;
pub mod result;
pub mod state;
pub mod sync;
pub mod topics;
pub mod values;
pub mod wire;

#[cfg(feature = "registry")]
pub use codec::{Codec, CodecError, Contract};
pub use command::{CommandEnvelope, CommandPayload};
pub use event::{EventEnvelope, EventPayload};
pub use fields::{Description, DeviceId, DeviceKind, FieldError, LocalId, Name, Seconds, SourceId};
pub use ids::{FeedUrl, IdError, ItemId, UserId};
pub use public::PublicEvent;
pub use rejection::RejectionCode;
pub use result::{CommandResult, ReplyTo};
pub use state::{RecentCommand, StateEntity, StateKey, UserStateRecord};
pub use sync::{SyncPlay, SyncPlaylist, SyncPlaylistItem, SyncSubscription};
pub use topics::Topics;
pub use values::{EpisodeAction, Privacy, Scope};
