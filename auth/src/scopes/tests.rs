use super::*;
use proptest::prelude::*;

fn every_grant() -> Vec<Grant> {
    let mut grants = vec![
        Grant::Everything,
        Grant::EveryRead,
        Grant::EveryWrite,
        Grant::Sync,
    ];
    for area in Area::ALL {
        grants.push(Grant::Area(area));
        for access in Access::ALL {
            grants.push(Grant::Data(area, access));
        }
    }
    grants
}

/// The rule in words, on the scopes' text: a scope grants itself and its descendants in the dotted
/// hierarchy (`user` everything, `user.plays` both accesses to plays), and `user.read` /
/// `user.write` every data permission of that access; `user.sync` only itself.
fn reference(grant: &str, permission: &str) -> bool {
    match grant {
        "user" => true,
        "user.read" => permission != "user.sync" && permission.ends_with(".read"),
        "user.write" => permission != "user.sync" && permission.ends_with(".write"),
        _ => permission == grant || permission.starts_with(&format!("{grant}.")),
    }
}

#[test]
fn every_grant_covers_exactly_what_the_rule_says() {
    for grant in every_grant() {
        for permission in Permission::all() {
            assert_eq!(
                grant.grants(permission),
                reference(&grant.to_string(), &permission.to_string()),
                "{grant} for {permission}"
            );
        }
    }
}

#[test]
fn aliases_mean_their_parent() {
    for (alias, meant) in [
        ("*", "user"),
        ("user.*", "user"),
        ("*.read", "user.read"),
        ("*.write", "user.write"),
    ] {
        assert_eq!(Grant::parse(alias), Grant::parse(meant), "{alias}");
    }
    for grant in every_grant() {
        assert_eq!(Grant::parse(&grant.to_string()), Ok(grant));
    }
}

#[test]
fn sync_is_granted_only_by_itself_and_everything() {
    let granting: Vec<Grant> = every_grant()
        .into_iter()
        .filter(|g| g.grants(Permission::Sync))
        .collect();
    assert_eq!(granting, vec![Grant::Everything, Grant::Sync]);
}

#[test]
fn a_set_of_scopes_allows_what_one_of_them_grants_and_refuses_unknown_ones() {
    let scopes =
        Scopes::parse("user.plays.read  user.subscriptions user.plays.read").expect("valid");
    assert_eq!(scopes.to_string(), "user.subscriptions user.plays.read");
    assert!(scopes.allows(Permission::Data(Area::Subscriptions, Access::Write)));
    assert!(scopes.allows(Permission::Data(Area::Plays, Access::Read)));
    assert!(!scopes.allows(Permission::Data(Area::Plays, Access::Write)));
    assert!(!scopes.allows(Permission::Sync));
    assert!(!Scopes::default().allows(Permission::Data(Area::Devices, Access::Read)));
    for bad in [
        "user.plays.read user.everything",
        "plays",
        "user.plays.delete",
        "user.",
        "user..read",
        "USER",
        "**",
    ] {
        assert_eq!(Scopes::parse(bad), Err(UnknownScope), "{bad:?}");
    }
}

proptest! {
    /// Any text is an unknown scope or one that reads back the same; nothing is half-understood.
    #[test]
    fn any_text_is_refused_or_read_back_the_same(raw in "[a-z.*]{0,30}|\\PC{0,30}") {
        if let Ok(grant) = Grant::parse(&raw) {
            prop_assert_eq!(Grant::parse(&grant.to_string()), Ok(grant));
        }
    }

    /// A set allows a permission exactly when one of its grants does, whatever the order and
    /// repetitions.
    #[test]
    fn a_set_allows_what_any_of_its_grants_allows(
        picks in proptest::collection::vec(0usize..25, 0..6),
    ) {
        let all = every_grant();
        let chosen: Vec<Grant> = picks.iter().map(|i| all[i % all.len()]).collect();
        let text = chosen.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        let scopes = Scopes::parse(&text).expect("every grant parses");
        for permission in Permission::all() {
            prop_assert_eq!(
                scopes.allows(permission),
                chosen.iter().any(|g| g.grants(permission))
            );
        }
    }
}
