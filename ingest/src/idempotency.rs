//! `Idempotency-Key`: a client-chosen key that makes a retried request the same command. The
//! command id is derived from the user, the app and the key, so the aggregator — which remembers
//! the user's recent command ids — answers a retry with the original outcome and emits nothing.

use axum::http::HeaderMap;
use balados_platform::http::ApiError;
use uuid::Uuid;

/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;

const NAMESPACE: Uuid = Uuid::from_u128(0x3d6f_45a2_8c1e_4b7f_a0d2_91e5_c4b8_7f10);

/// The command id for this request: derived from the key when the client sent one, else random.
pub fn command_id(headers: &HeaderMap, user_id: &str, app_id: &str) -> Result<Uuid, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(Uuid::new_v4());
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .ok_or_else(|| {
            ApiError::validation(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
            )
        })?;
    Ok(keyed_command_id(user_id, app_id, key))
}

/// The command id of `key` for a user and an app: the same triple, the same command. Also how
/// the service's own front ends name a command that must count once (the play gateway's listen
/// of an episode in an hour).
pub fn keyed_command_id(user_id: &str, app_id: &str, key: &str) -> Uuid {
    // Lengths first, so that no two (user, app, key) triples share a name.
    let name = format!("{}:{user_id}{}:{app_id}{key}", user_id.len(), app_id.len());
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_key(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "idempotency-key",
            HeaderValue::from_str(key).expect("valid header"),
        );
        h
    }

    #[test]
    fn the_same_key_gives_the_same_command_for_one_user_and_app_only() {
        let a = command_id(&with_key("k-1"), "u", "app").expect("valid");
        assert_eq!(a, command_id(&with_key("k-1"), "u", "app").expect("valid"));
        assert_ne!(a, command_id(&with_key("k-1"), "v", "app").expect("valid"));
        assert_ne!(
            a,
            command_id(&with_key("k-1"), "u", "other").expect("valid")
        );
        assert_ne!(a, command_id(&with_key("k-2"), "u", "app").expect("valid"));
        assert_ne!(
            command_id(&with_key("1:b"), "a", "x").expect("valid"),
            command_id(&with_key("b"), "a:1", "x").expect("valid")
        );
    }

    #[test]
    fn without_a_key_every_request_is_new_and_bad_keys_are_refused() {
        assert_ne!(
            command_id(&HeaderMap::new(), "u", "a").expect("ok"),
            command_id(&HeaderMap::new(), "u", "a").expect("ok")
        );
        assert_eq!(
            command_id(&with_key(&"x".repeat(256)), "u", "a").map_err(|e| e.code),
            Err("invalid_idempotency_key")
        );
        assert_eq!(
            command_id(&with_key("   "), "u", "a").map_err(|e| e.code),
            Err("invalid_idempotency_key")
        );
    }
}
