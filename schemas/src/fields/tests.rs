use super::*;
use proptest::prelude::*;

#[test]
fn ids_take_exactly_their_character_set_and_length() {
    let longest = "a".repeat(MAX_LOCAL_ID_LEN);
    assert_eq!(LocalId::parse(&longest).expect("longest").as_str(), longest);
    assert!(LocalId::parse(&format!("{longest}a")).is_err());
    for bad in ["", "a b", "a/b", "a.b", "é", "a\0"] {
        assert!(LocalId::parse(bad).is_err(), "{bad:?}");
    }
    assert!(DeviceId::parse("phone.v2_a-1").is_ok());
    assert!(DeviceId::parse("a/b").is_err());
}

#[test]
fn names_are_trimmed_single_lines_of_bounded_characters() {
    assert_eq!(
        Name::parse("  Morning  ").expect("valid").as_str(),
        "Morning"
    );
    assert_eq!(Name::parse("   "), Err(FieldError::Blank));
    assert_eq!(Name::parse_optional(" "), Ok(None));
    assert_eq!(Name::parse("a\nb"), Err(FieldError::ControlCharacter));
    assert_eq!(Name::parse("a\0b"), Err(FieldError::ControlCharacter));
    // Characters, not bytes: 200 four-byte characters are a legal name.
    assert!(Name::parse(&"𝄞".repeat(MAX_NAME_CHARS)).is_ok());
    assert_eq!(
        Name::parse(&"x".repeat(MAX_NAME_CHARS + 1)),
        Err(FieldError::TooLong(MAX_NAME_CHARS, "characters"))
    );
}

#[test]
fn descriptions_keep_line_breaks_and_refuse_nul() {
    assert_eq!(
        Description::parse(" a\r\n\tb ").expect("valid").as_str(),
        "a\r\n\tb"
    );
    assert_eq!(
        Description::parse("a\0b"),
        Err(FieldError::ControlCharacter)
    );
    assert_eq!(
        Description::parse("a\u{1b}[31m"),
        Err(FieldError::ControlCharacter)
    );
    assert!(Description::parse("").expect("empty is valid").is_empty());
    assert!(Description::parse(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
}

#[test]
fn device_kinds_are_exact() {
    for kind in DEVICE_KINDS {
        assert!(DeviceKind::parse(kind).is_ok());
    }
    for bad in ["", "Mobile", "phone", "mobile "] {
        assert!(DeviceKind::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn seconds_are_bounded_both_ways() {
    assert_eq!(Seconds::parse(0).expect("zero").get(), 0);
    assert_eq!(
        Seconds::parse(MAX_SECONDS).expect("max").get(),
        MAX_SECONDS as u64
    );
    assert_eq!(Seconds::parse(-1), Err(FieldError::OutOfRange(MAX_SECONDS)));
    assert!(Seconds::parse(MAX_SECONDS + 1).is_err());
    assert!(Seconds::parse(i64::MAX).is_err());
}

#[test]
fn source_ids_are_bounded_in_bytes() {
    assert!(SourceId::parse(&"s".repeat(MAX_SOURCE_ID_LEN)).is_ok());
    assert!(SourceId::parse(&"s".repeat(MAX_SOURCE_ID_LEN + 1)).is_err());
    assert!(SourceId::parse("a\0").is_err());
}

#[test]
fn error_messages_never_quote_the_value() {
    let long = "secret-".repeat(1_000);
    for message in [
        Name::parse(&long).expect_err("too long").to_string(),
        LocalId::parse(&long).expect_err("too long").to_string(),
        Description::parse(&long).expect_err("too long").to_string(),
        DeviceKind::parse(&long).expect_err("unknown").to_string(),
    ] {
        assert!(
            !message.contains("secret") && message.len() < 100,
            "{message}"
        );
    }
}

proptest! {
    /// Whatever arrives, an accepted value is within its bounds and parses to itself again, so
    /// the aggregate's second parse of a decoded command never refuses what the ingest accepted.
    #[test]
    fn accepted_values_are_bounded_and_stable(raw in any::<String>()) {
        if let Ok(name) = Name::parse(&raw) {
            prop_assert!(name.as_str().chars().count() <= MAX_NAME_CHARS);
            prop_assert!(!name.as_str().chars().any(char::is_control));
            prop_assert_eq!(Name::parse(name.as_str()), Ok(name.clone()));
        }
        if let Ok(description) = Description::parse(&raw) {
            prop_assert!(!description.as_str().contains('\0'));
            prop_assert!(description.as_str().chars().count() <= MAX_DESCRIPTION_CHARS);
            prop_assert_eq!(Description::parse(description.as_str()), Ok(description.clone()));
        }
        for id in [LocalId::parse(&raw).map(|i| i.into_string()), DeviceId::parse(&raw).map(|i| i.into_string())]
            .into_iter()
            .flatten()
        {
            prop_assert!(!id.is_empty() && id.len() <= MAX_LOCAL_ID_LEN && id.is_ascii());
        }
        if let Ok(source) = SourceId::parse(&raw) {
            prop_assert!(source.as_str().len() <= MAX_SOURCE_ID_LEN);
        }
    }

    #[test]
    fn seconds_accept_exactly_their_range(raw in any::<i64>()) {
        prop_assert_eq!(Seconds::parse(raw).is_ok(), (0..=MAX_SECONDS).contains(&raw));
    }
}
