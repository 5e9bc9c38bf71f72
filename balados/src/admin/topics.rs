//! `balados admin describe topics`: the service's topics as the broker holds them — partitions,
//! where each starts and ends, the configs that decide retention. What the broker does not answer
//! is said topic by topic rather than failing the whole command.

use super::text::Table;
use balados_platform::Settings;
use balados_platform::kafka::inspect::{self, Inspector, Watermarks};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CLIENT_ID: &str = "balados-admin-describe";

pub async fn run(settings: &Settings, as_json: bool) -> anyhow::Result<()> {
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let inspector = Inspector::new(&settings.kafka, CLIENT_ID)?;
    let specs = settings.topics().specs(settings.kafka.partitions);
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let configs = inspect::topic_configs(&settings.kafka, CLIENT_ID, &names)
        .await
        .map_err(|e| format!("the broker did not answer DescribeConfigs: {e}"));
    let mut described = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let count = inspector.partition_count(&spec.name)?;
        let marks: Result<Vec<Watermarks>, String> = (0..count.unwrap_or(0))
            .map(|p| {
                inspector
                    .watermarks(&spec.name, p)
                    .map_err(|e| e.to_string())
            })
            .collect();
        let config = match &configs {
            Ok(all) => all
                .get(index)
                .cloned()
                .unwrap_or_else(|| Err("no answer".into()))
                .map_err(|e| format!("not answered by the broker: {e}")),
            Err(e) => Err(e.clone()),
        };
        described.push(Topic {
            name: spec.name.clone(),
            expected: spec.partitions,
            partitions: count,
            marks,
            configs: config,
        });
    }
    if as_json {
        let topics: Vec<Value> = described.iter().map(Topic::to_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "topics": topics }))?
        );
    } else {
        for topic in &described {
            print!("{}", topic.render());
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Topic {
    name: String,
    expected: i32,
    /// `None`: the topic does not exist.
    partitions: Option<i32>,
    /// Each partition's start and end, or why they could not be read.
    marks: Result<Vec<Watermarks>, String>,
    configs: Result<BTreeMap<String, String>, String>,
}

impl Topic {
    fn render(&self) -> String {
        let Some(count) = self.partitions else {
            return format!(
                "{}  missing (`balados admin topics` creates it)\n\n",
                self.name
            );
        };
        let mut out = format!(
            "{}  partitions={count} (expected {})\n",
            self.name, self.expected
        );
        match &self.configs {
            Ok(configs) if configs.is_empty() => out.push_str("  configs: none reported\n"),
            Ok(configs) => {
                let shown: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("  configs: {}\n", shown.join(" ")));
            }
            Err(e) => out.push_str(&format!("  configs: {e}\n")),
        }
        match &self.marks {
            Ok(marks) => {
                let mut table = Table::new(&["  PARTITION", "LOW", "HIGH", "LISTED_HIGH"]);
                for (partition, m) in marks.iter().enumerate() {
                    table.row(vec![
                        format!("  {partition}"),
                        m.low.to_string(),
                        m.high.to_string(),
                        m.listed_high.to_string(),
                    ]);
                }
                out.push_str(&table.render());
            }
            Err(e) => out.push_str(&format!("  partitions: not read: {e}\n")),
        }
        out.push('\n');
        out
    }

    fn to_json(&self) -> Value {
        let partitions: Vec<Value> = self
            .marks
            .iter()
            .flatten()
            .enumerate()
            .map(|(p, m)| json!({"partition": p, "low": m.low, "high": m.high, "listed_high": m.listed_high}))
            .collect();
        let (configs, configs_error) = match &self.configs {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        json!({
            "name": self.name, "exists": self.partitions.is_some(),
            "partitions_error": self.marks.as_ref().err(),
            "partition_count": self.partitions, "expected_partitions": self.expected,
            "partitions": partitions, "configs": configs, "configs_error": configs_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_shows_its_partitions_and_the_configs_that_matter() {
        let topic = Topic {
            name: "b.events.v1".into(),
            expected: 2,
            partitions: Some(2),
            marks: Ok(vec![
                Watermarks {
                    low: 0,
                    listed_high: 6,
                    high: 15,
                },
                Watermarks {
                    low: 0,
                    listed_high: 0,
                    high: 0,
                },
            ]),
            configs: Ok(BTreeMap::from([
                ("cleanup.policy".to_owned(), "delete".to_owned()),
                ("retention.ms".to_owned(), "3888000000".to_owned()),
            ])),
        };
        let text = topic.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "b.events.v1  partitions=2 (expected 2)");
        assert_eq!(
            lines[1],
            "  configs: cleanup.policy=delete retention.ms=3888000000"
        );
        assert_eq!(lines[2], "  PARTITION  LOW  HIGH  LISTED_HIGH");
        assert_eq!(lines[3], "  0          0    15    6");
        let unread = Topic {
            marks: Err("neither a record nor the end came within 15 s".into()),
            configs: Err("not answered by the broker: Unsupported".into()),
            ..topic
        };
        let text = unread.render();
        assert!(text.contains("partitions: not read: neither"), "{text}");
        assert!(
            text.contains("configs: not answered by the broker"),
            "{text}"
        );
        let missing = Topic {
            partitions: None,
            marks: Ok(vec![]),
            ..unread
        };
        assert!(missing.render().contains("missing"));
    }
}
