//! A meta record written before deleted users were kept (released version 4) still decodes, as
//! the aggregator's restore and the rebuild read it, and says the user is not deleted: that
//! version tombstoned a deleted user's meta record, so every meta record it wrote is a live user's.

use apache_avro::Schema;
use apache_avro::types::Value;
use balados_schemas::codec::{read_datum, write_datum};
use balados_schemas::{Contract, StateEntity, UserStateRecord};

const V4: &str = include_str!("../avro/history/user-state.v4.avsc");

/// A meta record as version 4 wrote it: no `deleted`.
fn v4_meta() -> Value {
    let meta = Value::Record(vec![
        ("sequence".into(), Value::Long(12)),
        ("recent_commands".into(), Value::Array(vec![])),
        (
            "events_offset".into(),
            Value::Union(1, Box::new(Value::Long(40))),
        ),
        ("sync_position".into(), Value::Long(1_700_000_000)),
    ]);
    Value::Record(vec![
        ("user_id".into(), Value::String("u1".into())),
        ("source_offset".into(), Value::Long(7)),
        ("entity".into(), Value::Union(0, Box::new(meta))),
    ])
}

#[test]
fn a_meta_record_written_before_deletions_were_kept_is_a_live_users() {
    let old = Schema::parse_str(V4).expect("released");
    let current = Schema::parse_str(Contract::UserState.schema_text()).expect("current");
    let datum = write_datum(&old, v4_meta()).expect("encodes");
    let written = read_datum(&old, None, &mut datum.as_slice()).expect("decodes");
    let resolved =
        balados_schemas::resolve::resolve(written, &old, &current).expect("resolves by name");
    let record = UserStateRecord::from_avro(resolved).expect("typed");
    let StateEntity::Meta {
        sequence, deleted, ..
    } = record.entity
    else {
        panic!("a meta record")
    };
    assert_eq!(sequence, 12);
    assert!(
        !deleted,
        "an older version never kept a deleted user's meta record"
    );
}
