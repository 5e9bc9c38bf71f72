use super::*;
use balados_schemas::{LocalId, Name};

/// A time `secs` after an arbitrary origin.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_540_000 + secs, 0).expect("a time")
}

/// The client's last sync in every case below.
const LAST_SYNC: i64 = 100;

fn since() -> Option<DateTime<Utc>> {
    Some(t(LAST_SYNC))
}

fn creation(playlists: usize, latest: i64) -> Untaken {
    Untaken::Creation {
        playlists,
        latest: t(latest),
    }
}

fn addition(items: usize, bytes: usize, adding: usize, at: i64) -> Untaken {
    Untaken::Addition {
        items,
        bytes,
        adding,
        at: t(at),
    }
}

#[test]
fn a_deletion_rename_or_removal_lost_to_the_server_whenever_it_was_made() {
    for since in [None, since()] {
        assert_eq!(reason(Untaken::Undoing, since), NEWER);
    }
}

#[test]
fn a_creation_is_refused_for_the_limit_once_the_user_holds_the_most_playlists() {
    assert_eq!(
        reason(creation(MAX_PLAYLISTS, LAST_SYNC + 50), since()),
        LIMIT
    );
    assert_eq!(
        reason(creation(MAX_PLAYLISTS, LAST_SYNC - 50), since()),
        LIMIT
    );
    assert_eq!(reason(creation(MAX_PLAYLISTS, LAST_SYNC - 50), None), LIMIT);
}

#[test]
fn a_creation_below_the_limit_is_stale_up_to_the_last_sync_and_lost_to_a_newer_change_after() {
    let below = MAX_PLAYLISTS - 1;
    assert_eq!(
        reason(creation(below, LAST_SYNC - 50), since()),
        CHANGED_SINCE
    );
    assert_eq!(reason(creation(below, LAST_SYNC), since()), CHANGED_SINCE);
    // Made after the last sync, it lost to the server's newer deletion: not the limit.
    assert_eq!(reason(creation(below, LAST_SYNC + 1), since()), NEWER);
    assert_eq!(reason(creation(0, LAST_SYNC - 50), None), NEWER);
}

#[test]
fn an_addition_is_refused_for_the_limit_when_the_playlist_is_full_of_episodes_or_of_bytes() {
    let ok = addition(
        MAX_PLAYLIST_ITEMS - 1,
        MAX_LIST_BYTES - 10,
        10,
        LAST_SYNC + 50,
    );
    assert_eq!(reason(ok, since()), NEWER, "just fits: not the limit");
    let items = addition(MAX_PLAYLIST_ITEMS, 0, 10, LAST_SYNC + 50);
    assert_eq!(reason(items, since()), LIMIT);
    let bytes = addition(1, MAX_LIST_BYTES - 10, 11, LAST_SYNC - 50);
    assert_eq!(reason(bytes, since()), LIMIT);
    let huge = addition(1, usize::MAX, 1, LAST_SYNC + 50);
    assert_eq!(reason(huge, None), LIMIT);
}

#[test]
fn an_addition_with_room_is_stale_up_to_the_last_sync_and_lost_to_a_newer_removal_after() {
    assert_eq!(
        reason(addition(3, 300, 30, LAST_SYNC), since()),
        CHANGED_SINCE
    );
    assert_eq!(reason(addition(3, 300, 30, LAST_SYNC + 1), since()), NEWER);
    assert_eq!(reason(addition(3, 300, 30, LAST_SYNC - 99), None), NEWER);
}

fn feed(n: u32) -> FeedUrl {
    FeedUrl::parse(&format!("https://feeds.example.com/{n}.xml")).expect("a feed")
}

fn episode(n: u32) -> ItemId {
    ItemId::new(
        &format!("guid-{n}"),
        &format!("https://cdn.example.com/{n}.mp3"),
    )
    .expect("an episode")
}

fn list(id: &str, name: &str, episodes: &[u32]) -> List {
    List {
        id: id.to_owned(),
        name: name.to_owned(),
        items: (episodes.iter())
            .map(|n| (episode(*n).id(), feed(*n).id()))
            .collect(),
    }
}

fn upload(id: &str, name: &str, updated: i64, items: &[(u32, i64, Option<i64>)]) -> SyncPlaylist {
    SyncPlaylist {
        playlist_id: LocalId::parse(id).expect("an id"),
        name: Name::parse(name).expect("a name"),
        updated_at: t(updated),
        deleted_at: None,
        items: (items.iter())
            .map(|(n, added, removed)| SyncPlaylistItem {
                feed: feed(*n),
                item: episode(*n),
                added_at: t(*added),
                removed_at: removed.map(t),
            })
            .collect(),
    }
}

/// `(type, reason)` of each conflict.
fn reasons(conflicts: &[Value]) -> Vec<(&str, &str)> {
    (conflicts.iter())
        .map(|c| {
            let s = |k: &str| c[k].as_str().expect("a string");
            (s("type"), s("reason"))
        })
        .collect()
}

#[test]
fn a_rename_after_the_last_sync_that_lost_to_a_newer_one_is_newer_on_server() {
    let server = [list("later", "Soon", &[1])];
    let renamed = upload("later", "Later on", LAST_SYNC + 10, &[]);
    let found = playlists(&[renamed], &server, since());
    assert_eq!(reasons(&found), [("playlist", NEWER)]);
}

#[test]
fn each_refused_upload_of_a_playlist_gets_the_reason_its_kind_allows() {
    let server = [list("kept", "Kept", &[1, 2])];
    let mut gone = upload("gone", "Gone", LAST_SYNC - 50, &[]);
    gone.deleted_at = Some(t(LAST_SYNC + 5));
    let mut deleted = upload("kept", "Kept", LAST_SYNC - 50, &[]);
    deleted.deleted_at = Some(t(LAST_SYNC + 5));
    let uploads = [
        // Deleted on both sides: nothing to report.
        gone,
        // A removal and an addition, both refused; an episode held on both sides.
        upload(
            "kept",
            "Kept",
            LAST_SYNC - 50,
            &[
                (1, LAST_SYNC - 60, Some(LAST_SYNC + 3)),
                (2, LAST_SYNC - 60, None),
                (3, LAST_SYNC - 7, None),
            ],
        ),
        // The same playlist again: the merge takes the first only.
        deleted,
        // A playlist the server does not hold, older than the last sync but for an episode.
        upload("old", "Old", LAST_SYNC - 50, &[(4, LAST_SYNC + 2, None)]),
        upload(
            "stale",
            "Stale",
            LAST_SYNC - 50,
            &[(5, LAST_SYNC - 40, None)],
        ),
    ];
    let found = playlists(&uploads, &server, since());
    assert_eq!(
        reasons(&found),
        [
            ("playlist_item", NEWER),
            ("playlist_item", CHANGED_SINCE),
            ("playlist", NEWER),
            ("playlist", CHANGED_SINCE),
        ]
    );
}

#[test]
fn a_deletion_the_server_did_not_take_is_newer_on_server_even_before_the_last_sync() {
    let server = [list("kept", "Kept", &[])];
    let mut deleted = upload("kept", "Kept", LAST_SYNC - 50, &[]);
    deleted.deleted_at = Some(t(LAST_SYNC - 10));
    assert_eq!(
        reasons(&playlists(&[deleted], &server, since())),
        [("playlist", NEWER)]
    );
}

#[test]
fn the_limits_are_read_from_the_playlists_after_the_sync() {
    let full: Vec<List> = (0..MAX_PLAYLISTS)
        .map(|n| list(&format!("p{n}"), "P", &[]))
        .collect();
    let new = upload("new", "New", LAST_SYNC + 10, &[]);
    assert_eq!(
        reasons(&playlists(&[new], &full, since())),
        [("playlist", LIMIT)]
    );
    let episodes: Vec<u32> = (0..).take(MAX_PLAYLIST_ITEMS).collect();
    let long = [list("long", "Long", &episodes)];
    let more = upload(
        "long",
        "Long",
        LAST_SYNC - 50,
        &[(5_000, LAST_SYNC + 10, None)],
    );
    assert_eq!(
        reasons(&playlists(&[more], &long, since())),
        [("playlist_item", LIMIT)]
    );
}

#[test]
fn an_addition_past_the_byte_bound_is_refused_for_the_limit() {
    // A few episodes of long GUIDs fill the bytes well before the count.
    let guid = "g".repeat(balados_schemas::ids::MAX_GUID_LEN - 10);
    let big = |n: u32| {
        let item = ItemId::new(&format!("{guid}{n:05}"), "https://cdn.example.com/a.mp3")
            .expect("an episode");
        (item, feed(1))
    };
    let one = {
        let (item, feed) = big(0);
        item_bytes(&feed, &item)
    };
    let fit = MAX_LIST_BYTES / one;
    let server = [List {
        id: "big".to_owned(),
        name: "Big".to_owned(),
        items: (0..u32::try_from(fit).expect("a count"))
            .map(|n| {
                let (item, feed) = big(n);
                (item.id(), feed.id())
            })
            .collect(),
    }];
    assert!(fit < MAX_PLAYLIST_ITEMS && list_bytes(&server[0]) + one > MAX_LIST_BYTES);
    let (item, feed) = big(99_999);
    let mut more = upload("big", "Big", LAST_SYNC - 50, &[]);
    more.items.push(SyncPlaylistItem {
        feed,
        item,
        added_at: t(LAST_SYNC + 10),
        removed_at: None,
    });
    assert_eq!(
        reasons(&playlists(&[more], &server, since())),
        [("playlist_item", LIMIT)]
    );
}

#[test]
fn a_playlist_s_bytes_are_counted_from_its_ids_as_the_upload_s_are() {
    let server = list("l", "L", &[1, 2, 30]);
    let counted: usize = [1, 2, 30]
        .iter()
        .map(|n| item_bytes(&feed(*n), &episode(*n)))
        .sum();
    assert_eq!(list_bytes(&server), counted);
    assert_eq!(
        item_bytes(&feed(1), &episode(1)),
        "https://feeds.example.com/1.xml".len()
            + "guid-1".len()
            + "https://cdn.example.com/1.mp3".len()
    );
}
