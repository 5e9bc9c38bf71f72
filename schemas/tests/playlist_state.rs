//! A playlist state record written before playlists kept times still decodes, as the aggregator's
//! restore reads it: written with the released schema, resolved to the current one, typed. Its
//! new fields take their defaults, which say "written by an older version".

use apache_avro::Schema;
use apache_avro::types::Value;
use balados_schemas::codec::{read_datum, write_datum};
use balados_schemas::{Contract, StateEntity, UserStateRecord};

const V3: &str = include_str!("../avro/history/user-state.v3.avsc");

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// A playlist as version 3 wrote it: no times, no removals.
fn v3_playlist() -> Value {
    let item = Value::Record(vec![
        ("feed_url".into(), string("https://example.com/feed.xml")),
        ("guid".into(), string("g-1")),
        (
            "enclosure_url".into(),
            string("https://cdn.example.com/1.mp3"),
        ),
    ]);
    let playlist = Value::Record(vec![
        ("playlist_id".into(), string("p1")),
        ("name".into(), string("Road")),
        ("description".into(), Value::Union(0, Box::new(Value::Null))),
        ("public".into(), Value::Boolean(false)),
        ("items".into(), Value::Array(vec![item])),
    ]);
    Value::Record(vec![
        ("user_id".into(), string("u1")),
        ("source_offset".into(), Value::Long(7)),
        ("entity".into(), Value::Union(3, Box::new(playlist))),
    ])
}

#[test]
fn a_playlist_written_before_times_were_kept_decodes_with_the_defaults() {
    let old = Schema::parse_str(V3).expect("released");
    let current = Schema::parse_str(Contract::UserState.schema_text()).expect("current");
    let datum = write_datum(&old, v3_playlist()).expect("encodes");
    let written = read_datum(&old, None, &mut datum.as_slice()).expect("decodes");
    let resolved =
        balados_schemas::resolve::resolve(written, &old, &current).expect("resolves by name");
    let record = UserStateRecord::from_avro(resolved).expect("typed");
    let StateEntity::Playlist {
        items,
        changed_at,
        deleted_at,
        removed_items,
        removals_kept,
        removals_kept_after,
        ..
    } = record.entity
    else {
        panic!("a playlist")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].added_at, None);
    assert_eq!((changed_at, deleted_at), (None, None));
    assert!(removed_items.is_empty());
    assert!(!removals_kept, "an older record kept no removals");
    assert_eq!(removals_kept_after, None);
}
