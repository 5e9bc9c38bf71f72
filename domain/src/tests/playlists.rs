//! Playlists.

use super::*;
use balados_schemas::Description;

fn create(id: &str, title: &str) -> CommandEnvelope {
    command(
        CommandPayload::CreatePlaylist {
            playlist_id: local(id),
            name: name(title),
            description: None,
            public: false,
        },
        0,
    )
}

fn add(id: &str, n: u32) -> CommandEnvelope {
    command(
        CommandPayload::AddPlaylistItem {
            playlist_id: local(id),
            feed: feed(1),
            item: item(n),
        },
        0,
    )
}

fn reorder(id: &str, order: &[u32]) -> CommandEnvelope {
    command(
        CommandPayload::ReorderPlaylist {
            playlist_id: local(id),
            items: order.iter().map(|n| item(*n)).collect(),
        },
        0,
    )
}

#[test]
fn a_playlist_needs_a_new_id() {
    let mut state = UserState::default();
    assert!(matches!(
        events(&run(&mut state, &create("p", " Road trip ")))[..],
        [EventPayload::PlaylistCreated { ref name, .. }] if name == "Road trip"
    ));
    assert_eq!(
        rejected(&run(&mut state, &create("p", "again"))),
        "already_exists"
    );
    let blank = command(
        CommandPayload::CreatePlaylist {
            playlist_id: local("q"),
            name: name("n"),
            description: Some(Description::parse(" ").expect("valid")),
            public: false,
        },
        0,
    );
    assert!(matches!(
        events(&run(&mut state, &blank))[..],
        [EventPayload::PlaylistCreated {
            description: None,
            ..
        }]
    ));
}

#[test]
fn every_command_naming_an_unknown_playlist_is_not_found() {
    let mut state = UserState::default();
    for payload in [
        CommandPayload::UpdatePlaylist {
            playlist_id: local("nope"),
            name: Some(name("n")),
            description: None,
            public: None,
        },
        CommandPayload::DeletePlaylist {
            playlist_id: local("nope"),
        },
        CommandPayload::RemovePlaylistItem {
            playlist_id: local("nope"),
            item: item(1),
        },
    ] {
        assert_eq!(
            rejected(&run(&mut state, &command(payload, 0))),
            "not_found"
        );
    }
    assert_eq!(rejected(&run(&mut state, &add("nope", 1))), "not_found");
    assert_eq!(
        rejected(&run(&mut state, &reorder("nope", &[]))),
        "not_found"
    );
}

#[test]
fn update_emits_what_changed_and_visibility_separately() {
    let mut state = UserState::default();
    run(&mut state, &create("p", "Old"));
    let update = |name: Option<&str>, public: Option<bool>| {
        command(
            CommandPayload::UpdatePlaylist {
                playlist_id: local("p"),
                name: name.map(super::name),
                description: None,
                public,
            },
            1,
        )
    };
    let d = run(&mut state, &update(Some("New"), Some(true)));
    assert!(matches!(
        events(&d)[..],
        [
            EventPayload::PlaylistUpdated { .. },
            EventPayload::PlaylistVisibilityChanged { public: true, .. }
        ]
    ));
    assert!(events(&run(&mut state, &update(Some("New"), Some(true)))).is_empty());
    assert_eq!(state.playlists["p"].name, "New");
}

#[test]
fn items_are_appended_once_removed_and_reordered_as_a_permutation() {
    let mut state = UserState::default();
    run(&mut state, &create("p", "n"));
    for n in 1..=3 {
        assert_eq!(events(&run(&mut state, &add("p", n))).len(), 1);
    }
    assert!(
        events(&run(&mut state, &add("p", 2))).is_empty(),
        "already there"
    );
    assert_eq!(
        rejected(&run(&mut state, &reorder("p", &[3, 1]))),
        "invalid_order"
    );
    assert_eq!(
        rejected(&run(&mut state, &reorder("p", &[3, 1, 1]))),
        "invalid_order"
    );
    assert_eq!(
        rejected(&run(&mut state, &reorder("p", &[3, 1, 9]))),
        "invalid_order"
    );
    assert!(events(&run(&mut state, &reorder("p", &[1, 2, 3]))).is_empty());
    assert_eq!(events(&run(&mut state, &reorder("p", &[3, 1, 2]))).len(), 1);
    let order: Vec<_> = state.playlists["p"]
        .items
        .iter()
        .map(|i| i.item.clone())
        .collect();
    assert_eq!(order, vec![item(3), item(1), item(2)]);
    let remove = command(
        CommandPayload::RemovePlaylistItem {
            playlist_id: local("p"),
            item: item(1),
        },
        0,
    );
    assert_eq!(events(&run(&mut state, &remove)).len(), 1);
    assert!(events(&run(&mut state, &remove_again(&remove))).is_empty());
    assert_eq!(state.playlists["p"].items.len(), 2);
}

fn remove_again(original: &CommandEnvelope) -> CommandEnvelope {
    command(original.payload.clone(), 1)
}

#[test]
fn playlists_and_their_items_are_bounded() {
    let mut state = UserState::default();
    run(&mut state, &create("p", "n"));
    let playlist = state.playlists.get_mut("p").expect("created");
    for n in 0..u32::try_from(MAX_PLAYLIST_ITEMS).expect("small") {
        playlist.items.push(crate::PlaylistItem {
            feed: feed(1),
            item: item(n + 100),
            added_at: None,
        });
    }
    assert_eq!(rejected(&run(&mut state, &add("p", 1))), "limit_exceeded");
    for n in 0..MAX_PLAYLISTS {
        state
            .playlists
            .insert(format!("x{n}"), state.playlists["p"].clone());
    }
    assert_eq!(
        rejected(&run(&mut state, &create("new", "n"))),
        "limit_exceeded"
    );
}

#[test]
fn a_deleted_playlist_is_gone_and_its_id_free_again() {
    let mut state = UserState::default();
    run(&mut state, &create("p", "n"));
    let delete = command(
        CommandPayload::DeletePlaylist {
            playlist_id: local("p"),
        },
        0,
    );
    assert_eq!(events(&run(&mut state, &delete)).len(), 1);
    assert!(state.playlists.is_empty());
    assert_eq!(events(&run(&mut state, &create("p", "again"))).len(), 1);
}

#[test]
fn a_playlist_is_bounded_in_bytes_so_that_its_record_fits() {
    use crate::decide::MAX_LIST_BYTES;
    let mut state = UserState::default();
    run(&mut state, &create("big", "Big"));
    let long_item = |n: u32| {
        balados_schemas::ItemId::new(
            &format!("{}{n:05}", "g".repeat(480)),
            &format!("https://e.com/{}/{n:05}.mp3", "a".repeat(1300)),
        )
        .expect("valid")
    };
    let add_long = |n: u32| {
        command(
            CommandPayload::AddPlaylistItem {
                playlist_id: local("big"),
                feed: feed(1),
                item: long_item(n),
            },
            0,
        )
    };
    let mut n = 0;
    loop {
        n += 1;
        match run(&mut state, &add_long(n)) {
            Decision::Accepted(_) => {}
            other => {
                assert_eq!(rejected(&other), "limit_exceeded");
                break;
            }
        }
        assert!(n < 1_000, "the byte bound comes before the count bound");
    }
    assert!(state.playlists["big"].bytes() <= MAX_LIST_BYTES);
}
