use super::Branch;
use crate::{
    CommandEnvelope, CommandPayload, EventEnvelope, EventPayload, StateEntity, UserStateRecord,
};
use apache_avro::Schema;
use apache_avro::schema::RecordSchema;

const COMMAND: &str = include_str!("../../avro/command.avsc");
const EVENT: &str = include_str!("../../avro/event.avsc");
const USER_STATE: &str = include_str!("../../avro/user-state.avsc");

fn field_names(record: &RecordSchema) -> Vec<&str> {
    record.fields.iter().map(|f| f.name.as_str()).collect()
}

/// What a declaration gets wrong about its `.avsc`: the record's fields, and each branch of the
/// union in its field `union`.
fn mismatches(avsc: &str, fields: &[&str], union: &str, branches: &[Branch]) -> Vec<String> {
    let schema = Schema::parse_str(avsc).expect("parses");
    let Schema::Record(top) = &schema else {
        panic!("a record")
    };
    let mut wrong = Vec::new();
    if field_names(top) != fields {
        wrong.push(format!(
            "fields {fields:?}, in the .avsc {:?}",
            field_names(top)
        ));
    }
    let union = top.fields.iter().find(|f| f.name == union);
    let Some(Schema::Union(union)) = union.map(|f| &f.schema) else {
        panic!("a union field")
    };
    let variants = union.variants();
    let mut numbers: Vec<usize> = branches.iter().map(|b| b.number as usize).collect();
    numbers.sort_unstable();
    if numbers != (0..variants.len()).collect::<Vec<_>>() {
        let count = variants.len();
        wrong.push(format!(
            "branch numbers {numbers:?}, {count} branches in the .avsc"
        ));
    }
    for branch in branches {
        match variants.get(branch.number as usize) {
            Some(Schema::Record(r))
                if r.name.name() == branch.record && field_names(r) == branch.fields => {}
            Some(Schema::Record(r)) => wrong.push(format!(
                "branch {}: declared {} {:?}, in the .avsc {} {:?}",
                branch.number,
                branch.record,
                branch.fields,
                r.name.name(),
                field_names(r)
            )),
            other => wrong.push(format!("branch {}: {other:?}", branch.number)),
        }
    }
    wrong
}

#[test]
fn every_union_is_declared_as_its_avsc_lays_it_out() {
    for (avsc, fields, union, branches) in [
        (
            COMMAND,
            CommandEnvelope::avro_fields(),
            "payload",
            CommandPayload::branches(),
        ),
        (
            EVENT,
            EventEnvelope::avro_fields(),
            "payload",
            EventPayload::branches(),
        ),
        (
            USER_STATE,
            UserStateRecord::avro_fields(),
            "entity",
            StateEntity::branches(),
        ),
    ] {
        assert_eq!(
            mismatches(avsc, &fields, union, &branches),
            Vec::<String>::new()
        );
    }
}

/// Two branches swapping numbers in both directions still round-trip, to the same bytes for each
/// typed value: only the record names in the `.avsc` tell the mistake.
#[test]
fn a_branch_declared_with_another_number_or_missing_is_caught() {
    let fields = CommandEnvelope::avro_fields();
    let mut swapped = CommandPayload::branches();
    swapped[0].number = 1;
    swapped[1].number = 0;
    let wrong = mismatches(COMMAND, &fields, "payload", &swapped);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(
        wrong[0].starts_with("branch 1: declared Subscribe"),
        "{wrong:?}"
    );

    let mut missing = CommandPayload::branches();
    missing.pop();
    let wrong = mismatches(COMMAND, &fields, "payload", &missing);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].starts_with("branch numbers"), "{wrong:?}");
}

#[test]
fn kinds_are_distinct_snake_case_names() {
    for branches in [
        CommandPayload::branches(),
        EventPayload::branches(),
        StateEntity::branches(),
    ] {
        let mut kinds: Vec<&str> = branches.iter().map(|b| b.kind).collect();
        for kind in &kinds {
            assert!(
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{kind}"
            );
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), branches.len(), "{kinds:?}");
    }
}
