//! Privacy settings, removal of public events, devices.

use super::*;
use balados_schemas::{DeviceId, DeviceKind, Privacy, Scope};

fn privacy(scope: Scope, value: &str, at: i64) -> CommandEnvelope {
    command(
        CommandPayload::ChangePrivacy {
            scope,
            privacy: Privacy::parse(value).expect("valid"),
        },
        at,
    )
}

#[test]
fn a_rejection_never_echoes_an_unbounded_value() {
    let huge = "é".repeat(200_000);
    let rejection =
        crate::decide::Rejection::new(balados_schemas::RejectionCode::LimitExceeded, huge);
    assert_eq!(
        rejection.message.chars().count(),
        crate::decide::MAX_MESSAGE_CHARS
    );
    assert!(rejection.message.ends_with('…'));
}

#[test]
fn privacy_is_set_per_scope_and_repeats_change_nothing() {
    let mut state = UserState::default();
    for (scope, value) in [
        (Scope::Global, "anonymous"),
        (Scope::Feed(feed(1)), "private"),
        (Scope::Item(item(1)), "public"),
    ] {
        let d = run(&mut state, &privacy(scope.clone(), value, 0));
        assert_eq!(
            events(&d),
            vec![EventPayload::PrivacyChanged {
                scope: scope.clone(),
                privacy: Privacy::parse(value).expect("valid")
            }]
        );
        assert!(events(&run(&mut state, &privacy(scope, value, 1))).is_empty());
    }
    assert_eq!(state.privacy.len(), 3);
}

#[test]
fn privacy_settings_are_bounded() {
    let mut state = UserState::default();
    for n in 0..u32::try_from(MAX_PRIVACY_SETTINGS).expect("small") {
        state.privacy.insert(Scope::Item(item(n)), Privacy::Private);
    }
    assert_eq!(
        rejected(&decide(
            &state,
            &privacy(Scope::Feed(feed(1)), "private", 0)
        )),
        "limit_exceeded"
    );
    assert!(matches!(
        decide(&state, &privacy(Scope::Item(item(0)), "public", 0)),
        Decision::Accepted(_)
    ));
}

#[test]
fn remove_events_is_always_recorded() {
    let mut state = UserState::default();
    let d = run(
        &mut state,
        &command(
            CommandPayload::RemoveEvents {
                scope: Scope::Feed(feed(2)),
            },
            0,
        ),
    );
    assert_eq!(
        events(&d),
        vec![EventPayload::EventsRemoved {
            scope: Scope::Feed(feed(2))
        }]
    );
}

fn device(id: &str, caption: Option<&str>, kind: Option<&str>) -> CommandEnvelope {
    command(
        CommandPayload::UpsertDevice {
            device_id: DeviceId::parse(id).expect("valid"),
            caption: caption.map(name),
            kind: kind.map(|k| DeviceKind::parse(k).expect("valid")),
        },
        0,
    )
}

#[test]
fn devices_are_upserted_keeping_what_is_not_given() {
    let mut state = UserState::default();
    run(
        &mut state,
        &device("phone.1", Some("Phone"), Some("mobile")),
    );
    let d = run(&mut state, &device("phone.1", None, Some("laptop")));
    assert_eq!(
        events(&d),
        vec![EventPayload::DeviceUpserted {
            device_id: "phone.1".into(),
            caption: Some("Phone".into()),
            kind: Some("laptop".into())
        }]
    );
    assert!(events(&run(&mut state, &device("phone.1", Some("Phone"), None))).is_empty());
    for n in 0..MAX_DEVICES {
        state.devices.insert(format!("d{n}"), Device::default());
    }
    assert_eq!(
        rejected(&run(&mut state, &device("one-more", None, None))),
        "limit_exceeded"
    );
}
