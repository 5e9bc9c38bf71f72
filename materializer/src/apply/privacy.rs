//! Privacy resolution: the most specific setting wins — episode, then feed, then
//! global — and without any setting an event is public.

use balados_schemas::{Privacy, Scope};
use std::collections::HashMap;

/// One user's privacy settings, keyed by feed id and item id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivacySettings {
    pub global: Option<Privacy>,
    pub feeds: HashMap<String, Privacy>,
    pub items: HashMap<String, Privacy>,
}

impl PrivacySettings {
    /// The privacy of an event about `feed_id` (and `item_id`, for episode events).
    pub fn effective(&self, feed_id: &str, item_id: Option<&str>) -> Privacy {
        item_id
            .and_then(|item| self.items.get(item))
            .or_else(|| self.feeds.get(feed_id))
            .or(self.global.as_ref())
            .copied()
            .unwrap_or(Privacy::Public)
    }

    pub fn set(&mut self, scope: &Scope, privacy: Privacy) {
        match scope {
            Scope::Global => self.global = Some(privacy),
            Scope::Feed(feed) => {
                self.feeds.insert(feed.id(), privacy);
            }
            Scope::Item(item) => {
                self.items.insert(item.id(), privacy);
            }
        }
    }

    /// The settings of stored rows (`scope` global/feed/item, `scope_id`, `privacy`).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let mut settings = Self::default();
        for (scope, id, value) in rows {
            // A value the model cannot read counts as private: never publish by mistake.
            let privacy = Privacy::parse(value).unwrap_or(Privacy::Private);
            match scope {
                "global" => settings.global = Some(privacy),
                "feed" => {
                    settings.feeds.insert(id.to_owned(), privacy);
                }
                _ => {
                    settings.items.insert(id.to_owned(), privacy);
                }
            }
        }
        settings
    }
}

/// Whether an event about `feed_id`/`item_id` falls under `scope` (a change or a removal there).
pub fn in_scope(scope: &Scope, feed_id: &str, item_id: Option<&str>) -> bool {
    match scope {
        Scope::Global => true,
        Scope::Feed(feed) => feed.id() == feed_id,
        Scope::Item(item) => item_id.is_some_and(|id| id == item.id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balados_schemas::{FeedUrl, ItemId};

    fn feed() -> FeedUrl {
        FeedUrl::parse("https://e.com/f").expect("valid")
    }

    fn item() -> ItemId {
        ItemId::new("g", "https://e.com/1.mp3").expect("valid")
    }

    #[test]
    fn without_settings_everything_is_public() {
        let settings = PrivacySettings::default();
        assert_eq!(settings.effective(&feed().id(), None), Privacy::Public);
    }

    #[test]
    fn the_most_specific_setting_wins() {
        let (feed, item) = (feed(), item());
        let mut settings = PrivacySettings::default();
        settings.set(&Scope::Global, Privacy::Private);
        assert_eq!(
            settings.effective(&feed.id(), Some(&item.id())),
            Privacy::Private
        );
        settings.set(&Scope::Feed(feed.clone()), Privacy::Anonymous);
        assert_eq!(
            settings.effective(&feed.id(), Some(&item.id())),
            Privacy::Anonymous
        );
        settings.set(&Scope::Item(item.clone()), Privacy::Public);
        assert_eq!(
            settings.effective(&feed.id(), Some(&item.id())),
            Privacy::Public
        );
        assert_eq!(
            settings.effective(&feed.id(), None),
            Privacy::Anonymous,
            "a feed event ignores episode settings"
        );
        assert_eq!(
            settings.effective("other", None),
            Privacy::Private,
            "another feed falls back to the global setting"
        );
    }

    #[test]
    fn stored_rows_resolve_like_events_and_unknown_values_fail_closed() {
        let (feed, item) = (feed(), item());
        let (feed_id, item_id) = (feed.id(), item.id());
        let settings = PrivacySettings::from_rows([
            ("global", "", "anonymous"),
            ("feed", feed_id.as_str(), "bogus"),
            ("item", item_id.as_str(), "public"),
        ]);
        assert_eq!(settings.effective("x", None), Privacy::Anonymous);
        assert_eq!(settings.effective(&feed_id, None), Privacy::Private);
        assert_eq!(
            settings.effective(&feed_id, Some(&item_id)),
            Privacy::Public
        );
    }

    #[test]
    fn scopes_match_their_events() {
        let (feed, item) = (feed(), item());
        let (feed_id, item_id) = (feed.id(), item.id());
        assert!(in_scope(&Scope::Global, "x", None));
        assert!(in_scope(
            &Scope::Feed(feed.clone()),
            &feed_id,
            Some(&item_id)
        ));
        assert!(!in_scope(&Scope::Feed(feed), "x", None));
        assert!(in_scope(
            &Scope::Item(item.clone()),
            &feed_id,
            Some(&item_id)
        ));
        assert!(!in_scope(&Scope::Item(item), &feed_id, None));
    }
}
