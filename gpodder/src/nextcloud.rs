//! The Nextcloud gpoddersync app's API, as AntennaPod's Nextcloud provider calls it: no user in
//! the path and no devices, Basic with the username and an app password on every call (never a
//! cookie). The logic is the gpodder routes': one sync group, positions for `since`/`timestamp`,
//! writes as commands answered after their decision and once readable.
//!
//! Everything written here is from device [`DEVICE`] (an action naming its own `device` keeps
//! it), so that the changes show on the devices page like any other client's.
//!
//! AntennaPod stores its own clock, not our `timestamp`, as the next `since` after an upload:
//! positions never lag the clock (each is at least its reception's Unix second), so what another
//! device sends after that moment still comes, give or take the phone's clock skew. So `since` is
//! read [`CLOCK_MARGIN_S`] early here: a change in the very second of the client's clock, or
//! behind a clock running up to a minute fast, is not skipped; the cost is the last minute's
//! changes again, which are current states (a subscription's, an episode's), harmless to apply
//! twice. For the same reason episode actions are not paged here: a client that replaces our
//! `timestamp` by its clock would skip the rest of a page; everything after `since` comes at once
//! (bounded by the episodes a user may track).

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::devices::device_id;
use crate::episodes::{changes_within, everything, since};
use crate::error::GpodderError;
use crate::pipeline::last_position;
use crate::subscriptions::{Changes, Checked, apply, changes_since, checked};
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The device every Nextcloud client writes as (the protocol has none).
pub const DEVICE: &str = "nextcloud";

/// How much earlier than `since` a download starts (see the module's comment).
pub const CLOCK_MARGIN_S: i64 = 60;

const BASE: &str = "/index.php/apps/gpoddersync";

/// `since` as sent, moved [`CLOCK_MARGIN_S`] earlier (0 stays everything).
fn since_with_margin(raw: Option<&str>) -> Result<i64, GpodderError> {
    Ok(since(raw)?.saturating_sub(CLOCK_MARGIN_S).max(0))
}

/// The four routes, behind Basic authentication.
pub fn router(state: &GpodderState) -> Router<GpodderState> {
    Router::new()
        .route(&format!("{BASE}/subscriptions"), get(subscriptions))
        .route(
            &format!("{BASE}/subscription_change/create"),
            post(change_subscriptions),
        )
        .route(&format!("{BASE}/episode_action"), get(episode_actions))
        .route(
            &format!("{BASE}/episode_action/create"),
            post(record_episode_actions),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::basic_only,
        ))
}

#[derive(Debug, Deserialize)]
pub struct Since {
    #[serde(default)]
    since: Option<String>,
}

/// What an upload answers: the position reached once its effects are readable.
#[derive(Debug, Serialize)]
pub struct Timestamp {
    timestamp: i64,
}

/// `GET …/subscriptions?since=` → `{"add","remove","timestamp"}`.
async fn subscriptions(
    State(state): State<GpodderState>,
    caller: Caller,
    Query(query): Query<Since>,
) -> Result<Json<Changes>, GpodderError> {
    let since = since_with_margin(query.since.as_deref())?;
    changes_since(&state, &caller.user_id, since, None)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionChanges {
    #[serde(default)]
    add: crate::body::Bounded<String>,
    #[serde(default)]
    remove: crate::body::Bounded<String>,
}

/// `POST …/subscription_change/create` `{"add","remove"}` → `{"timestamp"}`. URLs rewritten or
/// skipped cannot be reported (the answer has no `update_urls`): the next download shows the
/// stored forms.
async fn change_subscriptions(
    State(state): State<GpodderState>,
    caller: Caller,
    JsonBody(changes): JsonBody<SubscriptionChanges>,
) -> Result<Json<Timestamp>, GpodderError> {
    let Checked {
        add,
        remove,
        mut update_urls,
    } = checked(&changes.add.0, &changes.remove.0)?;
    let device = device_id(DEVICE)?;
    apply(
        &state,
        &caller.user_id,
        &device,
        add,
        remove,
        &mut update_urls,
    )
    .await?;
    if update_urls.iter().any(|(_, new)| new.is_empty()) {
        tracing::info!(
            skipped = update_urls.iter().filter(|(_, new)| new.is_empty()).count(),
            "Nextcloud subscription changes skipped"
        );
    }
    let timestamp = last_position(&state, &caller.user_id).await?;
    Ok(Json(Timestamp { timestamp }))
}

/// `GET …/episode_action?since=` → `{"actions":[…],"timestamp"}`, every episode changed after
/// `since` at once.
async fn episode_actions(
    State(state): State<GpodderState>,
    caller: Caller,
    Query(query): Query<Since>,
) -> Result<Json<crate::episodes::Actions>, GpodderError> {
    let since = since_with_margin(query.since.as_deref())?;
    let answer = changes_within(&state, &caller.user_id, since, None, everything()).await?;
    Ok(Json(answer))
}

/// Each action as the gpodder route reads it, from [`DEVICE`] unless it names its own.
fn from_nextcloud(mut actions: Vec<Value>) -> Vec<Value> {
    for action in &mut actions {
        if let Value::Object(fields) = action {
            let named = fields
                .get("device")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !named {
                fields.insert("device".into(), Value::String(DEVICE.into()));
            }
        }
    }
    actions
}

/// `POST …/episode_action/create` `[{"podcast","episode","action","timestamp","guid",…}]` →
/// `{"timestamp"}`; an invalid action is skipped (logged) and the rest applied.
async fn record_episode_actions(
    State(state): State<GpodderState>,
    caller: Caller,
    JsonBody(crate::body::Bounded(actions)): JsonBody<crate::body::Bounded<Value>>,
) -> Result<Json<Timestamp>, GpodderError> {
    let (_, skipped) =
        crate::episodes::apply(&state, &caller.user_id, &from_nextcloud(actions)).await?;
    if !skipped.is_empty() {
        tracing::info!(skipped = skipped.len(), "Nextcloud episode actions skipped");
    }
    let timestamp = last_position(&state, &caller.user_id).await?;
    Ok(Json(Timestamp { timestamp }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_without_a_device_are_the_nextcloud_devices() {
        let actions = from_nextcloud(vec![
            json!({"podcast": "http://a/rss", "action": "play"}),
            json!({"podcast": "http://a/rss", "action": "play", "device": "phone"}),
            json!({"podcast": "http://a/rss", "action": "play", "device": " "}),
            json!("not an object"),
        ]);
        assert_eq!(actions[0]["device"], "nextcloud");
        assert_eq!(actions[1]["device"], "phone");
        assert_eq!(actions[2]["device"], "nextcloud");
        assert_eq!(actions[3], json!("not an object"));
        assert!(device_id(DEVICE).is_ok());
    }

    #[test]
    fn since_is_read_a_minute_early_and_never_below_everything() {
        assert_eq!(since_with_margin(None).ok(), Some(0));
        assert_eq!(since_with_margin(Some("30")).ok(), Some(0));
        assert_eq!(
            since_with_margin(Some("1800000000")).ok(),
            Some(1_800_000_000 - CLOCK_MARGIN_S)
        );
        assert!(since_with_margin(Some("soon")).is_err());
    }
}
