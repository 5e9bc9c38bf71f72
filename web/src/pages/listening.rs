//! What the user's apps reported, as the read models show it: the plays, newest first and paged,
//! and the devices.

use crate::WebState;
use crate::error::PageError;
use crate::html::esc;
use crate::session::LoggedIn;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Plays a page of the history shows, newest first.
const PAGE: usize = 100;
/// The pages there can be: a user keeps at most 20,000 episodes (the domain's `MAX_EPISODES`).
const MAX_PAGE: u32 = 200;

#[derive(sqlx::FromRow)]
struct Play {
    feed_url: String,
    guid: String,
    enclosure_url: String,
    position: i64,
    duration: Option<i64>,
    played: bool,
    updated_at: DateTime<Utc>,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct Paging {
    /// 1 for the newest plays.
    page: Option<u32>,
}

pub async fn history(
    State(state): State<WebState>,
    who: LoggedIn,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Query(paging) = paging.map_err(|_| PageError::Invalid("page must be a number".into()))?;
    let page = paging.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let offset = i64::from(page - 1) * PAGE as i64;
    // One more than a page: whether there is an older one.
    let mut plays: Vec<Play> = sqlx::query_as(
        "SELECT feed_url, guid, enclosure_url, position, duration, played, updated_at,
                saved_at IS NOT NULL AS saved
         FROM users.play_statuses
         WHERE user_id = $1 AND updated_at IS NOT NULL
         ORDER BY updated_at DESC, item_id
         LIMIT $2 OFFSET $3",
    )
    .bind(&who.session.user_id)
    .bind(PAGE as i64 + 1)
    .bind(offset)
    .fetch_all(&state.readers)
    .await?;
    let older = plays.len() > PAGE;
    plays.truncate(PAGE);
    if plays.is_empty() && page == 1 {
        let body = "<p>Nothing played yet: what your podcast apps report playing appears here.</p>";
        return Ok(who.page("Listening history").render(body));
    }
    let mut body = format!(
        r#"<p>Newest first, {PAGE} a page; this is page {page} (<a href="/account/export">your export</a> has every play).</p><ul class="items">"#
    );
    for play in &plays {
        let progress = if play.played {
            "played".to_owned()
        } else {
            match play.duration {
                Some(duration) => format!("at {} of {}", clock(play.position), clock(duration)),
                None => format!("at {}", clock(play.position)),
            }
        };
        let saved = if play.saved { " · saved" } else { "" };
        body.push_str(&format!(
            "<li><code>{episode}</code><br>from <code>{feed}</code><br>{progress}{saved} · {when} UTC</li>",
            episode = esc(episode_name(play)),
            feed = esc(&play.feed_url),
            when = play.updated_at.format("%Y-%m-%d %H:%M"),
        ));
    }
    body.push_str("</ul><p>");
    if page > 1 {
        body.push_str(&format!(
            r#"<a href="/account/listening?page={}">Newer plays</a> "#,
            page - 1
        ));
    }
    if older && page < MAX_PAGE {
        body.push_str(&format!(
            r#"<a href="/account/listening?page={}">Older plays</a>"#,
            page + 1
        ));
    }
    body.push_str("</p>");
    Ok(who.page("Listening history").render(&body))
}

/// What names an episode best without its feed: its media URL, or its GUID when there is none.
fn episode_name(play: &Play) -> &str {
    if play.enclosure_url.is_empty() {
        &play.guid
    } else {
        &play.enclosure_url
    }
}

/// Seconds as `m:ss`, or `h:mm:ss` from an hour on.
fn clock(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[derive(sqlx::FromRow)]
struct Device {
    device_id: String,
    caption: Option<String>,
    kind: Option<String>,
}

pub async fn devices(
    State(state): State<WebState>,
    who: LoggedIn,
) -> Result<Html<String>, PageError> {
    let devices: Vec<Device> = sqlx::query_as(
        "SELECT device_id, caption, kind FROM users.devices WHERE user_id = $1 ORDER BY device_id",
    )
    .bind(&who.session.user_id)
    .fetch_all(&state.readers)
    .await?;
    if devices.is_empty() {
        let body = "<p>No devices yet: a podcast app that names its device (gPodder, AntennaPod's gpodder.net sync) adds it here.</p>";
        return Ok(who.page("Your devices").render(body));
    }
    let mut body = String::from(r#"<ul class="items">"#);
    for device in &devices {
        let caption = device.caption.as_deref().unwrap_or("(no name)");
        let kind = device.kind.as_deref().unwrap_or("other");
        body.push_str(&format!(
            "<li><strong>{}</strong> · {}<br>id <code>{}</code></li>",
            esc(caption),
            esc(kind),
            esc(&device.device_id)
        ));
    }
    body.push_str("</ul>");
    Ok(who.page("Your devices").render(&body))
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn positions_read_as_a_player_shows_them() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(59), "0:59");
        assert_eq!(clock(61), "1:01");
        assert_eq!(clock(3599), "59:59");
        assert_eq!(clock(3600), "1:00:00");
        assert_eq!(clock(36_061), "10:01:01");
        assert_eq!(clock(-5), "0:00");
    }
}
