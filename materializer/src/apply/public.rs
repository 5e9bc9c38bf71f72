//! The public projection: which events enter `site.public_events` (filtered by the owner's
//! privacy), what a privacy change or a removal does to the ones already there, and the popularity
//! points they are worth (README, "Privacy and popularity"). Pure: the batch's sink loads the
//! owners' settings and their earlier public events, and writes what this computes.
//!
//! One user's repeated plays, saves, shares of one episode (and subscriptions to one feed) count
//! once per day (of recording): each still appears on the timeline, but only the first earns points,
//! so nobody can inflate trending by replaying. Which ones counted is stored ([`CountKey`]), so the
//! rule gives the same totals however the stream is cut into batches, and in a rebuild.

use super::credentials::carries_credentials;
use super::privacy::{PrivacySettings, in_scope};
use balados_schemas::{EventEnvelope, EventPayload, Privacy, Scope};
use chrono::{DateTime, DurationRound as _, NaiveDate, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// The kinds of public events, with their popularity points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicKind {
    Subscribe,
    Play,
    Save,
    Share,
}

impl PublicKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscribe => "subscribe",
            Self::Play => "play",
            Self::Save => "save",
            Self::Share => "share",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Subscribe, Self::Play, Self::Save, Self::Share]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }

    /// The counts one event of this kind adds.
    fn counts(self) -> Counts {
        match self {
            Self::Subscribe => Counts {
                score: 10,
                subscribes: 1,
                ..Counts::default()
            },
            Self::Play => Counts {
                score: 5,
                plays: 1,
                ..Counts::default()
            },
            Self::Save => Counts {
                score: 3,
                likes: 1,
                ..Counts::default()
            },
            Self::Share => Counts {
                score: 2,
                shares: 1,
                ..Counts::default()
            },
        }
    }
}

/// The episode of an episode event, as the rows hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicItem {
    pub item_id: String,
    pub guid: String,
    pub enclosure_url: String,
}

/// What counts once a day: one user, one kind, one episode (or feed, for a subscription). The day
/// is the server's day of recording, not the client's time: a client choosing its timestamps
/// could otherwise make every repeat a new day (the event carries its recorded time, so replays and
/// rebuilds find the same day).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountKey {
    pub user: String,
    pub day: NaiveDate,
    pub kind: &'static str,
    /// The episode's id, or the feed's for a subscription.
    pub target: String,
}

impl CountKey {
    /// The key of a publishable event; `None` for the others.
    pub fn of(event: &EventEnvelope) -> Option<Self> {
        use EventPayload as E;
        let (kind, target) = match &event.payload {
            E::Subscribed { feed, .. } => (PublicKind::Subscribe, feed.id()),
            E::PlayRecorded { item, .. } => (PublicKind::Play, item.id()),
            E::EpisodeSaved { item, .. } => (PublicKind::Save, item.id()),
            E::EpisodeShared { item, .. } => (PublicKind::Share, item.id()),
            _ => return None,
        };
        Some(Self {
            user: event.user_id.as_str().to_owned(),
            day: event.recorded_at.date_naive(),
            kind: kind.as_str(),
            target,
        })
    }
}

/// A row of `site.public_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRow {
    pub event_id: Uuid,
    pub kind: PublicKind,
    /// `None` when anonymous.
    pub user_id: Option<String>,
    pub feed_id: String,
    pub feed_url: String,
    pub item: Option<PublicItem>,
    pub occurred_at: DateTime<Utc>,
    /// The event-time hour it counts in; `None` when it arrived after the grace period.
    pub bucket: Option<DateTime<Utc>>,
    /// Whether it earned popularity points (the first of its [`CountKey`]).
    pub counted: bool,
}

/// Popularity counts; deltas may be negative (a withdrawn event takes its points back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub score: i64,
    pub plays: i64,
    pub likes: i64,
    pub subscribes: i64,
    pub shares: i64,
}

impl Counts {
    fn add(&mut self, other: Counts, sign: i64) {
        self.score += sign * other.score;
        self.plays += sign * other.plays;
        self.likes += sign * other.likes;
        self.subscribes += sign * other.subscribes;
        self.shares += sign * other.shares;
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// Whether the delta takes something away: only a row given such a delta can fall back to
    /// nothing.
    pub fn lowers(&self) -> bool {
        [
            self.score,
            self.plays,
            self.likes,
            self.subscribes,
            self.shares,
        ]
        .iter()
        .any(|n| *n < 0)
    }
}

/// What a batch changes in the public models.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublicChanges {
    /// New rows (after any change in the same batch), keyed by event id.
    pub inserts: BTreeMap<Uuid, (String, PublicRow)>,
    /// Earlier rows withdrawn (deleted), with their owners; and earlier rows anonymised.
    pub withdrawn: BTreeMap<Uuid, String>,
    pub anonymised: BTreeSet<Uuid>,
    /// Popularity deltas: all-time per feed (with its url) and per episode (with its feed).
    pub podcasts: BTreeMap<String, (String, Counts)>,
    pub episodes: BTreeMap<String, (String, String, PublicItem, Counts)>,
    /// Hourly deltas per (feed, bucket) and per (item, bucket) with the item's feed.
    pub podcast_hours: BTreeMap<(String, DateTime<Utc>), Counts>,
    pub episode_hours: BTreeMap<(String, DateTime<Utc>), (String, Counts)>,
    /// Events counted in all-time totals only, having arrived after the grace period.
    pub late: usize,
    /// Keys counted for the first time in this batch.
    pub counted: BTreeSet<CountKey>,
    /// Public events that earned no points, their key having counted already that day.
    pub repeats: usize,
}

impl PublicChanges {
    /// Every event id whose public record changed, for the relay to `public-events`.
    pub fn outbox(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.inserts
            .keys()
            .chain(self.withdrawn.keys())
            .chain(&self.anonymised)
            .copied()
    }

    fn count(&mut self, row: &PublicRow, sign: i64) {
        if !row.counted {
            return;
        }
        let counts = row.kind.counts();
        self.podcasts
            .entry(row.feed_id.clone())
            .or_insert_with(|| (row.feed_url.clone(), Counts::default()))
            .1
            .add(counts, sign);
        if let Some(bucket) = row.bucket {
            self.podcast_hours
                .entry((row.feed_id.clone(), bucket))
                .or_default()
                .add(counts, sign);
        }
        let Some(item) = &row.item else { return };
        self.episodes
            .entry(item.item_id.clone())
            .or_insert_with(|| {
                (
                    row.feed_id.clone(),
                    row.feed_url.clone(),
                    item.clone(),
                    Counts::default(),
                )
            })
            .3
            .add(counts, sign);
        if let Some(bucket) = row.bucket {
            self.episode_hours
                .entry((item.item_id.clone(), bucket))
                .or_insert_with(|| (row.feed_id.clone(), Counts::default()))
                .1
                .add(counts, sign);
        }
    }
}

/// The public projection of one batch, fed event by event in order.
#[derive(Debug)]
pub struct PublicFold<'a> {
    /// The owners' settings as of their last applied event; updated by the batch's changes.
    pub settings: HashMap<String, PrivacySettings>,
    /// The owners' earlier public events (loaded for the users whose batch changes privacy or
    /// removes events); withdrawn ones leave the list.
    earlier: &'a mut HashMap<String, Vec<PublicRow>>,
    /// The batch's keys that counted before it (loaded), then those it counts.
    counted: HashSet<CountKey>,
    grace: TimeDelta,
    pub changes: PublicChanges,
}

impl<'a> PublicFold<'a> {
    pub fn new(
        settings: HashMap<String, PrivacySettings>,
        earlier: &'a mut HashMap<String, Vec<PublicRow>>,
        counted: HashSet<CountKey>,
        grace: TimeDelta,
    ) -> Self {
        Self {
            settings,
            earlier,
            counted,
            grace,
            changes: PublicChanges::default(),
        }
    }

    pub fn apply(&mut self, event: &EventEnvelope) {
        let user = event.user_id.as_str();
        match &event.payload {
            EventPayload::PrivacyChanged { scope, privacy } => {
                let settings = self.settings.entry(user.to_owned()).or_default();
                settings.set(scope, *privacy);
                let settings = settings.clone();
                self.revise(user, scope, |row| {
                    settings.effective(&row.feed_id, row.item.as_ref().map(|i| i.item_id.as_str()))
                });
            }
            EventPayload::EventsRemoved { scope } => self.revise(user, scope, |_| Privacy::Private),
            _ => self.publish(event),
        }
    }

    /// A deleted account: every public event of the user (anonymous ones included) is withdrawn
    /// and its popularity points taken back, as a removal of all their events does — the
    /// popularity numbers keep nothing of a deleted user. Their settings and the keys they counted
    /// are forgotten: the same user id starts again as a new user.
    pub fn delete_account(&mut self, user: &str) {
        self.revise(user, &Scope::Global, |_| Privacy::Private);
        self.settings
            .insert(user.to_owned(), PrivacySettings::default());
        self.counted.retain(|key| key.user != user);
        self.changes.counted.retain(|key| key.user != user);
    }

    fn publish(&mut self, event: &EventEnvelope) {
        use EventPayload as E;
        let (kind, feed, item) = match &event.payload {
            E::Subscribed { feed, .. } => (PublicKind::Subscribe, feed, None),
            E::PlayRecorded { feed, item, .. } => (PublicKind::Play, feed, Some(item)),
            E::EpisodeSaved { feed, item } => (PublicKind::Save, feed, Some(item)),
            E::EpisodeShared { feed, item } => (PublicKind::Share, feed, Some(item)),
            _ => return,
        };
        let user = event.user_id.as_str();
        let item = item.map(|i| PublicItem {
            item_id: i.id(),
            guid: i.guid().to_owned(),
            enclosure_url: i.enclosure_url().to_owned(),
        });
        let feed_id = feed.id();
        let privacy = self.settings.get(user).map_or(Privacy::Public, |s| {
            s.effective(&feed_id, item.as_ref().map(|i| i.item_id.as_str()))
        });
        let secret = carries_credentials(feed.as_str())
            || item
                .as_ref()
                .is_some_and(|i| carries_credentials(&i.enclosure_url));
        if privacy == Privacy::Private || secret {
            return;
        }
        // The key of `CountKey::of`, from the ids computed above (not encoded again).
        let key = CountKey {
            user: user.to_owned(),
            day: event.recorded_at.date_naive(),
            kind: kind.as_str(),
            target: item
                .as_ref()
                .map_or_else(|| feed_id.clone(), |i| i.item_id.clone()),
        };
        let counted = self.counted.insert(key.clone());
        if counted {
            self.changes.counted.insert(key);
        }
        if !counted {
            self.changes.repeats += 1;
        }
        let row = PublicRow {
            event_id: event.event_id,
            kind,
            user_id: (privacy == Privacy::Public).then(|| user.to_owned()),
            feed_id,
            feed_url: feed.as_str().to_owned(),
            item,
            occurred_at: event.occurred_at,
            bucket: bucket(event.occurred_at, event.recorded_at, self.grace),
            counted,
        };
        if row.bucket.is_none() {
            self.changes.late += 1;
        }
        self.changes.count(&row, 1);
        self.changes
            .inserts
            .insert(row.event_id, (user.to_owned(), row));
    }

    /// Re-resolves the user's public events under `scope` (earlier ones and this batch's):
    /// private withdraws them, anonymous strips the user id, public leaves them as they are (an
    /// anonymised or withdrawn event is not made public again).
    fn revise(&mut self, user: &str, scope: &Scope, privacy_of: impl Fn(&PublicRow) -> Privacy) {
        let matches = |row: &PublicRow| {
            in_scope(
                scope,
                &row.feed_id,
                row.item.as_ref().map(|i| i.item_id.as_str()),
            )
        };
        let pending: Vec<Uuid> = self
            .changes
            .inserts
            .iter()
            .filter(|(_, (owner, row))| owner == user && matches(row))
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            let Some((_, row)) = self.changes.inserts.get(&id) else {
                continue;
            };
            match privacy_of(row) {
                Privacy::Private => {
                    if let Some((_, row)) = self.changes.inserts.remove(&id) {
                        self.changes.count(&row, -1);
                    }
                }
                Privacy::Anonymous => {
                    if let Some((_, row)) = self.changes.inserts.get_mut(&id) {
                        row.user_id = None;
                    }
                }
                Privacy::Public => {}
            }
        }
        let Some(earlier) = self.earlier.get_mut(user) else {
            return;
        };
        let mut kept = Vec::with_capacity(earlier.len());
        for mut row in earlier.drain(..) {
            if !matches(&row) {
                kept.push(row);
                continue;
            }
            match privacy_of(&row) {
                Privacy::Private => {
                    self.changes.count(&row, -1);
                    self.changes.anonymised.remove(&row.event_id);
                    self.changes.withdrawn.insert(row.event_id, user.to_owned());
                }
                Privacy::Anonymous if row.user_id.is_some() => {
                    row.user_id = None;
                    self.changes.anonymised.insert(row.event_id);
                    kept.push(row);
                }
                _ => kept.push(row),
            }
        }
        *earlier = kept;
    }
}

/// The hour an event counts in, unless it was recorded more than `grace` after it happened.
/// Measured against the event's own recorded time, not the clock: a replay or a rebuild puts every
/// event in the same bucket as the first pass did.
pub fn bucket(
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    grace: TimeDelta,
) -> Option<DateTime<Utc>> {
    if recorded_at - occurred_at > grace {
        return None;
    }
    occurred_at.duration_trunc(TimeDelta::hours(1)).ok()
}
