//! `docker-compose.kafka.yml` cannot run here (no Docker), so it is checked against the project
//! instead: every `BALADOS__` variable names a setting, each instance's settings load and
//! validate, and the addresses they use are the ones the other services listen on.

use balados_platform::Settings;
use balados_platform::settings::{DEFAULTS, reference};
use secrecy::ExposeSecret as _;
use std::collections::BTreeMap;

/// A service of the file: its environment and published ports.
#[derive(Debug, Default)]
struct Service {
    environment: BTreeMap<String, String>,
    ports: Vec<String>,
}

/// Reads the subset of YAML the file is written in: `services:`, two-space indents, and under each
/// service `environment:` as `KEY: value` lines and `ports:` as `- "value"` lines.
fn services(text: &str) -> BTreeMap<String, Service> {
    let mut found = BTreeMap::new();
    let (mut in_services, mut service, mut block) = (false, None::<String>, "");
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
        match indent {
            0 => in_services = trimmed == "services:",
            2 if in_services => {
                let name = trimmed.trim_end_matches(':').to_owned();
                found.insert(name.clone(), Service::default());
                service = Some(name);
            }
            4 if in_services => {
                block = if trimmed == "environment:" {
                    "environment"
                } else if trimmed == "ports:" {
                    "ports"
                } else {
                    ""
                }
            }
            6 if in_services => {
                let Some(current) = service.as_ref().and_then(|s| found.get_mut(s)) else {
                    continue;
                };
                match block {
                    "environment" => {
                        let (key, value) = trimmed.split_once(':').expect("KEY: value");
                        current.environment.insert(key.to_owned(), unquote(value));
                    }
                    "ports" => current.ports.push(unquote(trimmed.trim_start_matches('-'))),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    found
}

fn compose() -> BTreeMap<String, Service> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.kafka.yml");
    services(&std::fs::read_to_string(path).expect("docker-compose.kafka.yml"))
}

fn instances(all: &BTreeMap<String, Service>) -> Vec<(&String, &Service)> {
    all.iter()
        .filter(|(_, s)| s.environment.keys().any(|k| k.starts_with("BALADOS__")))
        .collect()
}

fn port(address: &str) -> &str {
    address.rsplit(':').next().expect("host:port")
}

#[test]
fn every_balados_variable_names_a_setting() {
    let known: Vec<String> = reference::settings(DEFAULTS)
        .iter()
        .map(reference::Setting::variable)
        .collect();
    let all = compose();
    for (name, service) in instances(&all) {
        for variable in service.environment.keys() {
            assert!(
                known.contains(variable),
                "{name}: {variable} is not a setting (docs/configuration.md)"
            );
        }
    }
}

#[test]
fn two_instances_whose_settings_load_and_reach_the_other_services() {
    let all = compose();
    let balados = instances(&all);
    assert!(balados.len() >= 2, "the service scaled to two instances");
    let kafka = &all["kafka"].environment;
    let registry = &all["schema-registry"].environment;
    let postgres = &all["postgres"].environment;
    assert_eq!(
        registry["SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL"], "backward_transitive",
        "the contracts' compatibility rule"
    );
    let mut membership = Vec::new();
    for (name, service) in &balados {
        let env = service.environment.clone().into_iter();
        let settings = Settings::load_from(None, env)
            .unwrap_or_else(|e| panic!("{name}: the settings do not load: {e}"));
        // The broker's address as advertised to other containers.
        assert!(
            kafka["KAFKA_ADVERTISED_LISTENERS"]
                .contains(&format!("//{}", settings.kafka.bootstrap)),
            "{name}: kafka.bootstrap {} is not an advertised listener",
            settings.kafka.bootstrap
        );
        let url = url::Url::parse(&settings.schema_registry.url).expect("registry URL");
        assert_eq!(url.host_str(), Some("schema-registry"), "{name}");
        assert_eq!(
            url.port().map(|p| p.to_string()).as_deref(),
            Some(port(&registry["SCHEMA_REGISTRY_LISTENERS"])),
            "{name}: the registry's port"
        );
        let db = url::Url::parse(settings.database.url.expose_secret()).expect("database URL");
        assert_eq!(db.host_str(), Some("postgres"), "{name}");
        assert_eq!(db.username(), postgres["POSTGRES_USER"], "{name}");
        assert_eq!(
            db.password(),
            Some(postgres["POSTGRES_PASSWORD"].as_str()),
            "{name}"
        );
        assert_eq!(db.path(), format!("/{}", postgres["POSTGRES_DB"]), "{name}");
        // Published as host:container; the server listens on all interfaces of the container.
        let published = service.ports.first().expect("a published port");
        let (host, container) = published.rsplit_once(':').expect("host:container");
        assert!(
            settings.http.addr.starts_with("0.0.0.0:"),
            "{name}: http.addr"
        );
        assert_eq!(
            port(&settings.http.addr),
            container,
            "{name}: the container port"
        );
        let public = url::Url::parse(&settings.http.public_url).expect("public URL");
        assert_eq!(
            public.port().map(|p| p.to_string()).as_deref(),
            Some(port(host)),
            "{name}: http.public_url is where the host reaches it"
        );
        membership.push(settings.kafka.group_instance_id);
    }
    membership.sort();
    membership.dedup();
    assert_eq!(
        membership.len(),
        balados.len(),
        "each instance its own kafka.group_instance_id"
    );
}

#[test]
fn the_reader_finds_environments_and_ports() {
    let text = "name: x\nservices:\n  a:\n    ports:\n      - \"1:2\"\n    environment:\n      # a comment\n      K: \"v\"\n  b:\n    image: y\nvolumes:\n  d:\n";
    let found = services(text);
    assert_eq!(found.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(found["a"].environment["K"], "v");
    assert_eq!(found["a"].ports, ["1:2"]);
    assert!(found["b"].environment.is_empty());
}
