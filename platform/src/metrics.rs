//! A small Prometheus text-format registry: counters, gauges and histograms with labels, updated
//! per request or per batch (never per record on hot paths), rendered on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    series: Arc<Mutex<BTreeMap<String, Series>>>,
}

/// Bucket bounds (seconds) of HTTP requests: 5 ms up to the 30 s request timeout.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Bucket bounds (seconds) of slow operations, such as a partition's restore: 100 ms to 10 min.
pub const SLOW_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// A counter named once, for the counters of rare events that start at zero (see
/// [`Metrics::count`]) as well as count where the event happens.
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    pub name: &'static str,
    pub help: &'static str,
}

#[derive(Debug, Clone)]
struct Series {
    kind: &'static str,
    help: &'static str,
    values: BTreeMap<String, f64>,
    histograms: BTreeMap<String, Histogram>,
}

/// Observations per bucket (not cumulative: summed when rendered), their sum and count.
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
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
            let entry = series
                .entry(name.to_owned())
                .or_insert_with(|| Series::new(kind, help));
            f(entry.values.entry(label_text(labels)).or_insert(0.0));
        }
    }

    pub fn add(&self, name: &str, help: &'static str, labels: &[(&str, &str)], by: f64) {
        self.update(name, "counter", help, labels, |v| *v += by);
    }

    /// Adds `by` to `counter`. Counting 0 at start-up makes a rare event's series exist before
    /// the first one: an alert on its increase then sees that first one (a series that appears
    /// at 1 has no increase).
    pub fn count(&self, counter: Counter, labels: &[(&str, &str)], by: f64) {
        self.add(counter.name, counter.help, labels, by);
    }

    pub fn set(&self, name: &str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        self.update(name, "gauge", help, labels, |v| *v = value);
    }

    /// Drops the series of `name` with `labels` (a gauge of something this instance no longer
    /// holds, which would otherwise keep its last value for ever).
    pub fn remove(&self, name: &str, labels: &[(&str, &str)]) {
        if let Ok(mut series) = self.series.lock()
            && let Some(entry) = series.get_mut(name)
        {
            entry.values.remove(&label_text(labels));
        }
    }

    /// Records `value` (seconds) in the histogram `name` with `bounds` (those of the first
    /// observation stay), rendered as `name_bucket{le}`, `name_sum` and `name_count`.
    pub fn observe(
        &self,
        name: &str,
        help: &'static str,
        bounds: &'static [f64],
        labels: &[(&str, &str)],
        value: f64,
    ) {
        if let Ok(mut series) = self.series.lock() {
            let entry = series
                .entry(name.to_owned())
                .or_insert_with(|| Series::new("histogram", help));
            let histogram = entry
                .histograms
                .entry(label_text(labels))
                .or_insert_with(|| Histogram {
                    bounds,
                    counts: vec![0; bounds.len()],
                    sum: 0.0,
                    count: 0,
                });
            if let Some(bucket) = histogram.bounds.iter().position(|b| value <= *b) {
                histogram.counts[bucket] += 1;
            }
            histogram.sum += value;
            histogram.count += 1;
        }
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
            for (labels, h) in &s.histograms {
                let mut cumulative = 0;
                for (bound, n) in h.bounds.iter().zip(&h.counts) {
                    cumulative += n;
                    let le = with_le(labels, &bound.to_string());
                    let _ = writeln!(out, "{name}_bucket{le} {cumulative}");
                }
                let le = with_le(labels, "+Inf");
                let _ = writeln!(out, "{name}_bucket{le} {}", h.count);
                let _ = writeln!(out, "{name}_sum{labels} {}", h.sum);
                let _ = writeln!(out, "{name}_count{labels} {}", h.count);
            }
        }
        out
    }
}

impl Series {
    fn new(kind: &'static str, help: &'static str) -> Self {
        Self {
            kind,
            help,
            values: BTreeMap::new(),
            histograms: BTreeMap::new(),
        }
    }
}

/// `labels` (as rendered, braces included, or empty) with the bucket's `le` label added.
fn with_le(labels: &str, le: &str) -> String {
    match labels.strip_suffix('}') {
        Some(open) => format!("{open},le=\"{le}\"}}"),
        None => format!("{{le=\"{le}\"}}"),
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

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let m = Metrics::default();
        let bounds = &[0.1, 1.0];
        for value in [0.05, 0.5, 0.7, 3.0] {
            m.observe("d_seconds", "D.", bounds, &[("route", "/a")], value);
        }
        m.observe("d_seconds", "D.", bounds, &[], 0.1);
        let text = m.render();
        let expected = "# TYPE d_seconds histogram\n\
            d_seconds_bucket{le=\"0.1\"} 1\n\
            d_seconds_bucket{le=\"1\"} 1\n\
            d_seconds_bucket{le=\"+Inf\"} 1\n\
            d_seconds_sum 0.1\n\
            d_seconds_count 1\n\
            d_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n\
            d_seconds_bucket{route=\"/a\",le=\"1\"} 3\n\
            d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n\
            d_seconds_sum{route=\"/a\"} 4.25\n\
            d_seconds_count{route=\"/a\"} 4\n";
        assert!(text.contains(expected), "{text}");
    }

    #[test]
    fn a_counter_counted_zero_is_exported_at_zero() {
        let m = Metrics::default();
        let rare = Counter {
            name: "rare_total",
            help: "Rare.",
        };
        m.count(rare, &[], 0.0);
        assert!(
            m.render()
                .contains("# TYPE rare_total counter\nrare_total 0\n")
        );
        m.count(rare, &[], 1.0);
        assert!(m.render().contains("rare_total 1\n"));
    }
}
