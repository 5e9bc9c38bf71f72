//! The user's devices (gpodder clients name theirs).

use super::decide::{MAX_NAME_CHARS, Rejection, Ruling, id, limit};
use super::state::{Device, UserState};
use balados_schemas::EventPayload;

/// Devices one user may register.
pub const MAX_DEVICES: usize = 100;
/// The device types of the gpodder.net API.
pub const DEVICE_KINDS: [&str; 5] = ["desktop", "laptop", "mobile", "server", "other"];

pub fn upsert(
    state: &UserState,
    device_id: &str,
    caption: Option<&str>,
    kind: Option<&str>,
) -> Ruling {
    id("invalid_device_id", "device id", device_id, true)?;
    if let Some(kind) = kind.filter(|k| !DEVICE_KINDS.contains(k)) {
        return Err(Rejection::new(
            "invalid_device_kind",
            format!("device type must be one of {DEVICE_KINDS:?}, not {kind:?}"),
        ));
    }
    let caption = caption.map(str::trim).filter(|c| !c.is_empty());
    if caption
        .is_some_and(|c| c.chars().count() > MAX_NAME_CHARS || c.chars().any(char::is_control))
    {
        return Err(Rejection::new(
            "invalid_name",
            format!("caption must be one line of at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let current = state.devices.get(device_id);
    if current.is_none() && state.devices.len() >= MAX_DEVICES {
        return Err(limit("devices", MAX_DEVICES));
    }
    // Fields left out keep their value, as the gpodder API's device update does.
    let next = Device {
        caption: caption
            .map(str::to_owned)
            .or_else(|| current.and_then(|d| d.caption.clone())),
        kind: kind
            .map(str::to_owned)
            .or_else(|| current.and_then(|d| d.kind.clone())),
    };
    if current == Some(&next) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::DeviceUpserted {
        device_id: device_id.to_owned(),
        caption: next.caption,
        kind: next.kind,
    }])
}
