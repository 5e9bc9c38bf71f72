//! The monitoring kit of `deploy/monitoring/`: every metric its Grafana dashboard and its alert
//! rules name is a series that a running server exports once a little traffic has gone through —
//! a renamed or missing metric would leave a panel empty and an alert silent for ever.

use crate::helpers::{Api, Stack, feed_id, metrics, repo_root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Every metric name in `text`: an identifier that starts with `balados_`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("balados_") {
        if text[..start].chars().next_back().is_some_and(is_name) {
            continue;
        }
        let rest = &text[start..];
        let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        names.insert(rest[..end].to_owned());
    }
    names
}

/// Every string in a JSON value: the dashboard's queries, wherever Grafana keeps them (panel
/// targets, variables).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The dashboard's metric names; on the way, that it imports anywhere: its queries go through
/// the `${DS_PROMETHEUS}` input, never a data source of one Grafana.
fn dashboard_names() -> BTreeSet<String> {
    let path = repo_root().join("deploy/monitoring/dashboard.json");
    let text = std::fs::read_to_string(&path).expect("deploy/monitoring/dashboard.json");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    let panels = dashboard["panels"].as_array().expect("panels");
    let targets: Vec<&Value> = panels
        .iter()
        .filter_map(|p| p["targets"].as_array())
        .flatten()
        .collect();
    assert!(targets.len() >= 10, "the dashboard has its queries");
    for target in &targets {
        assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{target}");
    }
    let mut texts = Vec::new();
    strings(&dashboard, &mut texts);
    texts.iter().flat_map(|t| metric_names(t)).collect()
}

/// The rules' metric names, read line by line (the rules are Prometheus YAML, `groups:` format).
fn alert_names() -> BTreeSet<String> {
    let path = repo_root().join("deploy/monitoring/alerts.yml");
    let text = std::fs::read_to_string(&path).expect("deploy/monitoring/alerts.yml");
    assert!(
        text.lines().any(|l| l == "groups:"),
        "Prometheus rule groups"
    );
    let alerts = text
        .lines()
        .filter(|l| l.trim_start().starts_with("- alert:"))
        .count();
    assert!(alerts >= 8, "the rules have their alerts: {alerts}");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(metric_names)
        .collect()
}

/// The series names of a Prometheus text exposition (a histogram's are `_bucket`, `_sum` and
/// `_count`, as queries name them).
fn exported(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn metric_names_are_found_whole_and_only_at_the_start_of_a_name() {
    let names = metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(balados_a_seconds_bucket{x=\"y\"}[5m]))) \
         / my_balados_b + balados_c:rate5m",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["balados_a_seconds_bucket", "balados_c:rate5m"]
    );
    assert_eq!(
        exported("# TYPE a counter\na{x=\"1\"} 2\nb_bucket{le=\"+Inf\"} 1\nc 0\n"),
        ["a", "b_bucket", "c"].map(str::to_owned).into()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported() {
    let mut named = dashboard_names();
    named.extend(alert_names());
    assert!(named.len() >= 15, "metric names found: {named:?}");

    // A low limit on the anonymous routes, so that a refusal is counted.
    let limits = [
        ("BALADOS__FAIR_USE__ADDRESS_ANONYMOUS__PER_SECOND", "0.5"),
        ("BALADOS__FAIR_USE__ADDRESS_ANONYMOUS__BURST", "2"),
    ];
    let env: Vec<(String, String)> = limits
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut stack = Stack::start(false).await;
    stack.start_server(&env).await;
    let url = stack.server().url.clone();

    // A write decided (a restore, a transaction), materialized and read back with its token.
    let api = Api::new(&url, "watched");
    let feed = feed_id("https://monitoring.example.com/feed.xml");
    let body = serde_json::json!({ "rss_source_feed": feed });
    let (status, answer) = api.call("POST", "/subscriptions", Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    let token = answer["consistency_token"].as_str().expect("a token");
    let (status, read) = api.read("/subscriptions", Some(token)).await;
    assert_eq!(status, 200, "{read}");
    // A 4xx, and anonymous reads beyond the limit.
    let anonymous = reqwest::get(format!("{url}/api/v1/subscriptions"))
        .await
        .expect("reachable");
    assert_eq!(anonymous.status(), 401);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = reqwest::get(format!("{url}/api/v1/public/timeline"))
            .await
            .expect("reachable");
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");

    // The consumers' lag comes with librdkafka's statistics, every 5 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let exposition = metrics(&url).await;
        let series = exported(&exposition);
        let missing: Vec<&String> = named.iter().filter(|n| !series.contains(*n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "named by deploy/monitoring but not exported after 60 s: {missing:?}\n\
             exported: {series:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
