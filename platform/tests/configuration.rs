//! `docs/configuration.md` is the reference written from the built-in defaults: it must say what
//! the defaults say. `BALADOS_BLESS=1` rewrites it.

use balados_platform::settings::{DEFAULTS, reference};
use std::path::PathBuf;

fn page() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md")
}

#[test]
fn the_configuration_reference_is_the_defaults_file_rendered() {
    let rendered = reference::render(DEFAULTS);
    if std::env::var_os("BALADOS_BLESS").is_some() {
        std::fs::write(page(), &rendered).expect("write docs/configuration.md");
    }
    let written = std::fs::read_to_string(page()).unwrap_or_default();
    assert!(
        written == rendered,
        "docs/configuration.md differs from platform/src/defaults.toml: run \
         BALADOS_BLESS=1 cargo test -p balados-platform --test configuration"
    );
}

#[test]
fn every_setting_of_the_typed_configuration_is_in_the_reference() {
    let settings = reference::settings(DEFAULTS);
    // The defaults build the typed settings: a field missing from them fails this load.
    balados_platform::Settings::load_from(None, Vec::new()).expect("the defaults load");
    for key in [
        "http.addr",
        "kafka.bootstrap",
        "schema_registry.operator_password",
        "database.url",
        "fair_use.user_writes",
        "kafka.client.*",
    ] {
        assert!(
            settings.iter().any(|s| s.key == key),
            "{key} missing from the reference"
        );
    }
}
