//! `balados admin describe groups`: the service's consumer groups as the broker describes them —
//! state, members and their partitions. Some brokers answer only part of it (tansu leaves some
//! active groups out of its listing and members without assignment): what is missing is said,
//! group by group.

use super::text::Table;
use balados_platform::Settings;
use balados_platform::kafka::groups::{self, GroupDescription};
use serde_json::{Value, json};

const CLIENT_ID: &str = "balados-admin-describe";

pub async fn run(settings: &Settings, as_json: bool) -> anyhow::Result<()> {
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let mut described = Vec::new();
    for (group, _, _) in super::consumers::consumers(settings) {
        let kafka = settings.kafka.clone();
        let name = group.clone();
        let answer =
            tokio::task::spawn_blocking(move || groups::describe_group(&kafka, CLIENT_ID, &name))
                .await?;
        described.push((group, answer.map_err(|e| e.to_string())));
    }
    if as_json {
        let groups: Vec<Value> = described.iter().map(|(g, d)| group_json(g, d)).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "groups": groups }))?
        );
    } else {
        for (group, description) in &described {
            print!("{}", render_group(group, description));
        }
    }
    Ok(())
}

type Described = Result<Option<GroupDescription>, String>;

fn render_group(group: &str, described: &Described) -> String {
    let description = match described {
        Err(e) => return format!("{group}  not answered by the broker: {e}\n\n"),
        Ok(None) => return format!("{group}  {NOT_LISTED}\n\n"),
        Ok(Some(d)) => d,
    };
    let protocol = if description.protocol.is_empty() {
        String::new()
    } else {
        format!(" protocol={}", description.protocol)
    };
    let mut out = format!("{group}  state={}{protocol}\n", description.state);
    if description.members.is_empty() {
        out.push_str(&format!(
            "  members: {}\n\n",
            no_members(&description.state)
        ));
        return out;
    }
    let mut table = Table::new(&["  MEMBER", "CLIENT", "HOST", "ASSIGNMENT"]);
    for member in &description.members {
        let assignment = match &member.assignment {
            Ok(topics) if topics.is_empty() => "none reported".to_owned(),
            Ok(topics) => topics
                .iter()
                .map(|(t, ps)| format!("{t}{ps:?}"))
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("unreadable: {e}"),
        };
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_owned()
            } else {
                s.to_owned()
            }
        };
        table.row(vec![
            format!("  {}", member.id),
            or_dash(&member.client_id),
            or_dash(&member.host),
            assignment,
        ]);
    }
    out.push_str(&table.render());
    out.push('\n');
    out
}

/// A group the broker's group listing leaves out: librdkafka describes only the groups it lists.
const NOT_LISTED: &str = "not reported by the broker: the group never joined, or the broker leaves \
    it out of its group listing (tansu lists some active groups only; see \
    docs/operations.md)";

/// Why a group shows no member: none is there, or the broker does not say.
fn no_members(state: &str) -> &'static str {
    if state.eq_ignore_ascii_case("stable") || state.eq_ignore_ascii_case("completingrebalance") {
        "none reported, although the group is active: the broker does not describe its members \
         (tansu; see docs/operations.md)"
    } else {
        "none"
    }
}

fn group_json(group: &str, described: &Described) -> Value {
    match described {
        Err(e) => json!({"group": group, "error": format!("not answered by the broker: {e}")}),
        Ok(None) => json!({"group": group, "known": false, "note": NOT_LISTED}),
        Ok(Some(d)) => {
            let members: Vec<Value> = d
                .members
                .iter()
                .map(|m| {
                    let (assignment, error) = match &m.assignment {
                        Ok(a) => (Some(a), None),
                        Err(e) => (None, Some(e)),
                    };
                    json!({"id": m.id, "client_id": m.client_id, "host": m.host,
                           "assignment": assignment, "assignment_error": error})
                })
                .collect();
            json!({"group": group, "known": true, "state": d.state, "protocol": d.protocol,
                   "members": members, "members_note": d.members.is_empty().then(|| no_members(&d.state))})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balados_platform::kafka::groups::Member;

    fn group(state: &str, members: Vec<Member>) -> Described {
        Ok(Some(GroupDescription {
            group: "b.aggregator".into(),
            state: state.into(),
            protocol: "range".into(),
            members,
        }))
    }

    #[test]
    fn a_group_shows_each_member_with_its_partitions() {
        let member = Member {
            id: "m-1".into(),
            client_id: "balados-aggregator".into(),
            host: "/10.0.0.1".into(),
            assignment: Ok(vec![("b.commands.v1".into(), vec![0, 2])]),
        };
        let text = render_group("b.aggregator", &group("Stable", vec![member]));
        assert!(
            text.starts_with("b.aggregator  state=Stable protocol=range\n"),
            "{text}"
        );
        assert!(text.contains("m-1"), "{text}");
        assert!(text.contains("b.commands.v1[0, 2]"), "{text}");
        let bare = Member {
            id: "m-2".into(),
            client_id: String::new(),
            host: String::new(),
            assignment: Ok(vec![]),
        };
        let text = render_group("b.aggregator", &group("Stable", vec![bare]));
        assert!(
            text.contains("m-2     -       -     none reported"),
            "{text}"
        );
    }

    #[test]
    fn what_the_broker_does_not_say_is_said_as_such() {
        let silent = render_group("b.aggregator", &group("Stable", vec![]));
        assert!(silent.contains("does not describe its members"), "{silent}");
        let empty = render_group("b.aggregator", &group("Empty", vec![]));
        assert!(empty.contains("members: none\n"), "{empty}");
        let refused = render_group("b.aggregator", &Err("Unsupported version".into()));
        assert!(
            refused.contains("not answered by the broker: Unsupported version"),
            "{refused}"
        );
        assert!(render_group("x", &Ok(None)).contains("not reported by the broker"));
    }
}
