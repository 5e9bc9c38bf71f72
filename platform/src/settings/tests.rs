use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_load_and_validate() {
    let s = Settings::load_from(None, env(&[])).expect("defaults are valid");
    assert_eq!(s.kafka.topic_prefix, "balados");
    assert_eq!(s.http.body_limit_bytes, 1024 * 1024);
}

#[test]
fn environment_variables_override_defaults() {
    let s = Settings::load_from(
        None,
        env(&[
            ("BALADOS__KAFKA__BOOTSTRAP", "b:9093"),
            ("BALADOS__KAFKA__PARTITIONS", "12"),
            ("OTHER", "x"),
        ]),
    )
    .expect("valid");
    assert_eq!(
        (s.kafka.bootstrap.as_str(), s.kafka.partitions),
        ("b:9093", 12)
    );
}

#[test]
fn an_invalid_value_names_the_setting() {
    let err =
        Settings::load_from(None, env(&[("BALADOS__HTTP__ADDR", "nowhere")])).expect_err("invalid");
    assert!(err.to_string().contains("http.addr"), "{err}");
    let err = Settings::load_from(None, env(&[("BALADOS__KAFKA__PARTITIONS", "many")]))
        .expect_err("invalid");
    assert!(err.to_string().contains("partitions"), "{err}");
}

#[test]
fn the_registry_password_has_no_default_and_is_taken_verbatim() {
    let s = Settings::load_from(None, env(&[])).expect("defaults are valid");
    assert_eq!(s.schema_registry.operator_user, "operator");
    assert!(s.schema_registry.operator_password.is_none());
    for password in ["0123", "1e5", "TRUE", "pass word:with colon"] {
        let s = Settings::load_from(
            None,
            env(&[
                ("BALADOS__SCHEMA_REGISTRY__OPERATOR_USER", "007"),
                ("BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD", password),
            ]),
        )
        .expect("valid");
        let registry = &s.schema_registry;
        assert_eq!(registry.operator_user, "007");
        assert_eq!(
            registry
                .operator_password
                .as_ref()
                .map(|p| p.expose_secret()),
            Some(password)
        );
        assert!(!format!("{s:?}").contains(password), "{s:?}");
    }
}

#[test]
fn an_empty_registry_password_or_a_user_with_a_colon_is_refused() {
    let err = Settings::load_from(
        None,
        env(&[("BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD", "")]),
    )
    .expect_err("invalid");
    assert!(
        err.to_string()
            .contains("schema_registry.operator_password"),
        "{err}"
    );
    let err = Settings::load_from(
        None,
        env(&[("BALADOS__SCHEMA_REGISTRY__OPERATOR_USER", "a:b")]),
    )
    .expect_err("invalid");
    assert!(
        err.to_string().contains("schema_registry.operator_user"),
        "{err}"
    );
}

#[test]
fn transactions_without_idempotence_are_refused() {
    let err = Settings::load_from(None, env(&[("BALADOS__KAFKA__IDEMPOTENCE", "false")]))
        .expect_err("invalid");
    assert!(
        err.to_string().contains("aggregator.transactional"),
        "{err}"
    );
    let s = Settings::load_from(
        None,
        env(&[
            ("BALADOS__KAFKA__IDEMPOTENCE", "false"),
            ("BALADOS__AGGREGATOR__TRANSACTIONAL", "false"),
        ]),
    )
    .expect("valid");
    assert!(!s.kafka.idempotence && !s.aggregator.transactional);
}

#[test]
fn rate_limits_are_set_per_key_and_checked() {
    let s = Settings::load_from(
        None,
        env(&[
            ("BALADOS__FAIR_USE__USER_WRITES__PER_SECOND", "0"),
            ("BALADOS__FAIR_USE__APP_READS__BURST", "7"),
        ]),
    )
    .expect("valid");
    assert!(s.fair_use.user_writes.rate().is_disabled());
    assert_eq!(s.fair_use.app_reads.burst, 7);
    assert!(!s.fair_use.user_reads.rate().is_disabled(), "a default");
    let err = Settings::load_from(
        None,
        env(&[("BALADOS__FAIR_USE__ADDRESS_ANONYMOUS__PER_SECOND", "-1")]),
    )
    .expect_err("invalid");
    assert!(
        err.to_string().contains("fair_use.address_anonymous"),
        "{err}"
    );
}

#[test]
fn the_public_cache_is_bounded_and_can_be_turned_off() {
    let load = |pairs: &[(&str, &str)]| Settings::load_from(None, env(pairs));
    let defaults = load(&[]).expect("defaults");
    assert_eq!(
        (
            defaults.query.public_cache_ms,
            defaults.query.public_cache_entries
        ),
        (1000, 1024)
    );
    let off = load(&[("BALADOS__QUERY__PUBLIC_CACHE_MS", "0")]).expect("0 turns it off");
    assert_eq!(off.query.public_cache_ms, 0);
    for (key, value, named) in [
        (
            "BALADOS__QUERY__PUBLIC_CACHE_MS",
            "60001",
            "query.public_cache_ms",
        ),
        (
            "BALADOS__QUERY__PUBLIC_CACHE_ENTRIES",
            "0",
            "query.public_cache_entries",
        ),
        (
            "BALADOS__QUERY__PUBLIC_CACHE_ENTRIES",
            "100001",
            "query.public_cache_entries",
        ),
    ] {
        let err = load(&[(key, value)]).expect_err("out of bounds");
        assert!(err.to_string().contains(named), "{key}={value}: {err}");
    }
}

#[test]
fn materializer_lanes_leave_connections_for_the_rest() {
    let load = |writers: &str, connections: &str| {
        Settings::load_from(
            None,
            env(&[
                ("BALADOS__MATERIALIZER__WRITERS", writers),
                ("BALADOS__DATABASE__MAX_CONNECTIONS", connections),
            ]),
        )
    };
    assert_eq!(load("8", "10").expect("valid").materializer.writers, 8);
    for (writers, connections) in [("0", "10"), ("9", "10"), ("65", "100")] {
        let err = load(writers, connections).expect_err("invalid");
        assert!(err.to_string().contains("materializer.writers"), "{err}");
    }
}
