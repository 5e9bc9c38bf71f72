//! A small Prometheus text-format registry: counters and gauges with labels, updated per request
//! or per batch (never per record on hot paths), rendered on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    series: Arc<Mutex<BTreeMap<String, Series>>>,
}

#[derive(Debug, Clone)]
struct Series {
    kind: &'static str,
    help: &'static str,
    values: BTreeMap<String, f64>,
}

fn label_text(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    fn update(
        &self,
        name: &str,
        kind: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        f: impl FnOnce(&mut f64),
    ) {
        if let Ok(mut series) = self.series.lock() {
            let entry = series.entry(name.to_owned()).or_insert_with(|| Series {
                kind,
                help,
                values: BTreeMap::new(),
            });
            f(entry.values.entry(label_text(labels)).or_insert(0.0));
        }
    }

    pub fn add(&self, name: &str, help: &'static str, labels: &[(&str, &str)], by: f64) {
        self.update(name, "counter", help, labels, |v| *v += by);
    }

    pub fn set(&self, name: &str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        self.update(name, "gauge", help, labels, |v| *v = value);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(series) = self.series.lock() else {
            return out;
        };
        for (name, s) in series.iter() {
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {}", s.help, s.kind);
            for (labels, value) in &s.values {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate_and_render_with_escaped_labels() {
        let m = Metrics::default();
        m.add("requests_total", "Requests.", &[("route", "/a\"b")], 1.0);
        m.add("requests_total", "Requests.", &[("route", "/a\"b")], 2.0);
        m.set("lag", "Lag.", &[], 5.0);
        let text = m.render();
        assert!(
            text.contains("requests_total{route=\"/a\\\"b\"} 3"),
            "{text}"
        );
        assert!(text.contains("# TYPE lag gauge\nlag 5"), "{text}");
    }
}
