//! The user's devices (gpodder clients name theirs).

use super::decide::{Ruling, limit};
use super::state::{Device, UserState};
use balados_schemas::{DeviceId, DeviceKind, EventPayload, Name};

/// Devices one user may register.
pub const MAX_DEVICES: usize = 100;

pub fn upsert(
    state: &UserState,
    device_id: &DeviceId,
    caption: Option<&Name>,
    kind: Option<&DeviceKind>,
) -> Ruling {
    let device_id = device_id.as_str();
    let current = state.devices.get(device_id);
    if current.is_none() && state.devices.len() >= MAX_DEVICES {
        return Err(limit("devices", MAX_DEVICES));
    }
    // Fields left out keep their value, as the gpodder API's device update does.
    let next = Device {
        caption: caption
            .map(Name::to_string)
            .or_else(|| current.and_then(|d| d.caption.clone())),
        kind: kind
            .map(DeviceKind::to_string)
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
