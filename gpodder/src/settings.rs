//! `GET|POST /api/2/settings/{username}/{scope}.json` for the scopes `account`, `device`
//! (`?device=`), `podcast` (`?podcast=`) and `episode` (`?podcast=&episode=`). Only settings that
//! really apply are kept, each mapped onto what the pipeline already knows:
//!
//! - account `public_profile` and `public_subscriptions`: the account's privacy (true → public,
//!   false → private; both name the same setting, so both read the same);
//! - podcast `public_subscription`: the feed's privacy (false → private, true → public);
//! - episode `is_favorite`: the episode saved or not (what `favorites` lists).
//!
//! Every other key, and every device setting, is kept nowhere: it is accepted and left out of
//! the answer, which lists only what is kept. A change is a command, answered once decided and
//! readable; `remove` puts a kept key back to its default (public, not a favorite).

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::devices::{device_id, json_file};
use crate::error::GpodderError;
use crate::pipeline::{Sent, decide_sent, readable};
use crate::urls::{Normalised, normalise};
use axum::Json;
use axum::extract::{Query, State};
use balados_platform::http::PathParams;
use balados_schemas::{CommandPayload, FeedUrl, ItemId, Privacy, Scope, UserId};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
pub struct Target {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    podcast: Option<String>,
    #[serde(default)]
    episode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Change {
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    remove: Vec<String>,
}

/// What a scope's settings are about, checked.
enum Subject {
    Account,
    Device,
    Podcast(FeedUrl),
    Episode(FeedUrl, String),
}

fn feed(raw: Option<&str>) -> Result<FeedUrl, GpodderError> {
    match raw.map(normalise) {
        Some(Normalised::Feed { url, .. }) => Ok(url),
        _ => Err(GpodderError::bad_request(
            "invalid_podcast",
            "podcast is a feed URL",
        )),
    }
}

fn subject(file: &str, target: &Target) -> Result<Subject, GpodderError> {
    match json_file(file)? {
        "account" => Ok(Subject::Account),
        "device" => {
            device_id(target.device.as_deref().unwrap_or_default())?;
            Ok(Subject::Device)
        }
        "podcast" => Ok(Subject::Podcast(feed(target.podcast.as_deref())?)),
        "episode" => {
            let podcast = feed(target.podcast.as_deref())?;
            let episode = target.episode.as_deref().map(str::trim).unwrap_or_default();
            ItemId::new(episode, episode).map_err(|e| {
                GpodderError::bad_request("invalid_episode", format!("episode {e}"))
            })?;
            Ok(Subject::Episode(podcast, episode.to_owned()))
        }
        _ => Err(GpodderError::not_found(
            "no such settings scope (account, device, podcast or episode)",
        )),
    }
}

/// The boolean value of a kept key (`None` when the change leaves it alone).
fn wanted(change: &Change, key: &str, default: bool) -> Result<Option<bool>, GpodderError> {
    match change.set.get(key) {
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(GpodderError::bad_request(
            "invalid_setting",
            format!("{key} is true or false"),
        )),
        None => Ok(change.remove.iter().any(|k| k == key).then_some(default)),
    }
}

fn privacy(public: bool) -> Privacy {
    if public {
        Privacy::Public
    } else {
        Privacy::Private
    }
}

/// The command a change asks for in this scope, if any.
async fn command(
    state: &GpodderState,
    user: &UserId,
    subject: &Subject,
    change: &Change,
) -> Result<Option<CommandPayload>, GpodderError> {
    Ok(match subject {
        Subject::Account => {
            let profile = wanted(change, "public_profile", true)?;
            let subscriptions = wanted(change, "public_subscriptions", true)?;
            if let (Some(a), Some(b)) = (profile, subscriptions)
                && a != b
            {
                return Err(GpodderError::bad_request(
                    "conflicting_settings",
                    "public_profile and public_subscriptions are one setting here: give them the same value",
                ));
            }
            profile
                .or(subscriptions)
                .map(|public| CommandPayload::ChangePrivacy {
                    scope: Scope::Global,
                    privacy: privacy(public),
                })
        }
        Subject::Device => None,
        Subject::Podcast(feed) => wanted(change, "public_subscription", true)?.map(|public| {
            CommandPayload::ChangePrivacy {
                scope: Scope::Feed(feed.clone()),
                privacy: privacy(public),
            }
        }),
        Subject::Episode(feed, episode) => match wanted(change, "is_favorite", false)? {
            None => None,
            Some(favorite) => {
                let item = known_item(state, user, feed, episode).await?;
                Some(if favorite {
                    CommandPayload::SaveEpisode {
                        feed: feed.clone(),
                        item,
                    }
                } else {
                    CommandPayload::UnsaveEpisode { item }
                })
            }
        },
    })
}

/// The episode as the user's library knows it (perhaps under a GUID), else by its media URL.
async fn known_item(
    state: &GpodderState,
    user: &UserId,
    feed: &FeedUrl,
    episode: &str,
) -> Result<ItemId, GpodderError> {
    let known: Option<(String,)> = sqlx::query_as(
        "SELECT item_id FROM users.play_statuses
         WHERE user_id = $1 AND feed_url = $2 AND enclosure_url = $3 LIMIT 1",
    )
    .bind(user.as_str())
    .bind(feed.as_str())
    .bind(episode)
    .fetch_optional(&state.readers)
    .await?;
    known
        .and_then(|(id,)| ItemId::from_id(&id).ok())
        .map_or_else(|| ItemId::new(episode, episode), Ok)
        .map_err(|e| GpodderError::bad_request("invalid_episode", format!("episode {e}")))
}

async fn privacy_of(
    state: &GpodderState,
    user: &UserId,
    scope: &str,
    id: &str,
) -> Result<Option<String>, GpodderError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT privacy FROM users.user_privacy WHERE user_id = $1 AND scope = $2 AND scope_key = site.id_key($3)",
    )
    .bind(user.as_str())
    .bind(scope)
    .bind(id)
    .fetch_optional(&state.readers)
    .await?;
    Ok(row.map(|(p,)| p))
}

/// The kept settings of a scope, read from the read models.
async fn current(
    state: &GpodderState,
    user: &UserId,
    subject: &Subject,
) -> Result<Map<String, Value>, GpodderError> {
    let mut settings = Map::new();
    // No row: the default, public (as the materializer resolves it).
    let global = privacy_of(state, user, "global", "").await?;
    let global_public = global.as_deref().is_none_or(|p| p == "public");
    match subject {
        Subject::Account => {
            settings.insert("public_profile".into(), global_public.into());
            settings.insert("public_subscriptions".into(), global_public.into());
        }
        Subject::Device => {}
        Subject::Podcast(feed) => {
            let own = privacy_of(state, user, "feed", &feed.id()).await?;
            let public = own.map_or(global_public, |p| p == "public");
            settings.insert("public_subscription".into(), public.into());
        }
        Subject::Episode(feed, episode) => {
            let (saved,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM users.play_statuses WHERE user_id = $1
                   AND feed_url = $2 AND enclosure_url = $3 AND saved_at IS NOT NULL)",
            )
            .bind(user.as_str())
            .bind(feed.as_str())
            .bind(episode)
            .fetch_one(&state.readers)
            .await?;
            settings.insert("is_favorite".into(), saved.into());
        }
    }
    Ok(settings)
}

pub async fn get(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    Query(target): Query<Target>,
) -> Result<Json<Map<String, Value>>, GpodderError> {
    caller.owns(&username)?;
    let subject = subject(&file, &target)?;
    Ok(Json(current(&state, &caller.user_id, &subject).await?))
}

pub async fn post(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    Query(target): Query<Target>,
    JsonBody(change): JsonBody<Change>,
) -> Result<Json<Map<String, Value>>, GpodderError> {
    caller.owns(&username)?;
    let subject = subject(&file, &target)?;
    let user = &caller.user_id;
    if let Some(payload) = command(&state, user, &subject, &change).await? {
        let sent = vec![Sent {
            device: None,
            at: None,
            payload,
        }];
        let results = decide_sent(&state, user, sent).await?;
        if let Some(code) = results.iter().find_map(|r| r.rejection_code.as_ref()) {
            let message = results[0].message.clone().unwrap_or_else(|| code.clone());
            let status = balados_platform::outcome::rejection_status(code);
            return Err(balados_platform::http::ApiError::new(status, "rejected", message).into());
        }
        readable(&state, &results).await?;
    }
    Ok(Json(current(&state, user, &subject).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(json: Value) -> Change {
        serde_json::from_value(json).expect("a change")
    }

    #[test]
    fn a_kept_key_is_set_removed_to_its_default_or_left_alone() {
        let set = change(serde_json::json!({"set": {"public_profile": false}}));
        assert_eq!(wanted(&set, "public_profile", true).ok(), Some(Some(false)));
        assert_eq!(wanted(&set, "is_favorite", false).ok(), Some(None));
        let removed = change(serde_json::json!({"remove": ["is_favorite"]}));
        assert_eq!(
            wanted(&removed, "is_favorite", false).ok(),
            Some(Some(false))
        );
        let text = change(serde_json::json!({"set": {"public_profile": "yes"}}));
        assert!(wanted(&text, "public_profile", true).is_err());
    }

    #[test]
    fn scopes_need_their_subject() {
        let none = Target::default();
        assert!(matches!(
            subject("account.json", &none),
            Ok(Subject::Account)
        ));
        assert!(subject("device.json", &none).is_err());
        assert!(subject("podcast.json", &none).is_err());
        assert!(subject("user.json", &none).is_err());
        let episode = Target {
            podcast: Some("feed://example.com/rss".into()),
            episode: Some("https://example.com/1.mp3".into()),
            ..Target::default()
        };
        match subject("episode.json", &episode) {
            Ok(Subject::Episode(feed, url)) => {
                assert_eq!(feed.as_str(), "http://example.com/rss");
                assert_eq!(url, "https://example.com/1.mp3");
            }
            _ => panic!("an episode's settings"),
        }
    }
}
