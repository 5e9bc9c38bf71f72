//! The Rust client the project's producers and consumers use must work unchanged: registering
//! with the operator credential (`set_basic_authorization`, as on Confluent's registry), decoding
//! with none.

use apache_avro::types::Value;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};

use crate::helpers::{ID, OPERATOR, PASSWORD, POS_DEFAULT, play, spawn_app};

fn operator_settings(address: &str) -> SrSettings {
    SrSettings::new_builder(address.to_owned())
        .set_basic_authorization(OPERATOR, Some(PASSWORD))
        .build()
        .expect("settings")
}

fn supplied(schema: &str) -> SubjectNameStrategy {
    let supplied = SuppliedSchema::new(
        Some("balados.Play".to_owned()),
        SchemaType::Avro,
        schema.to_owned(),
    );
    SubjectNameStrategy::TopicNameStrategyWithSchema("plays".to_owned(), false, supplied)
}

#[tokio::test]
async fn schema_registry_converter_registers_encodes_and_decodes() {
    let app = spawn_app().await;
    let existing = app.register_ok("plays-value", &play(ID)).await;
    let schema = play(&format!("{ID},{POS_DEFAULT}"));
    let values = || {
        vec![
            ("id", Value::String("ep-1".to_owned())),
            ("pos", Value::Long(42)),
        ]
    };

    // Without the credential, the new version cannot be registered.
    let anonymous = AvroEncoder::new(SrSettings::new(app.address.clone()));
    let refused = anonymous.encode(values(), supplied(&schema)).await;
    assert!(refused.is_err(), "{refused:?}");

    let encoder = AvroEncoder::new(operator_settings(&app.address));
    let bytes = encoder
        .encode(values(), supplied(&schema))
        .await
        .expect("encode");
    // Confluent wire format: magic byte 0, then the big-endian id of the new version.
    assert_eq!(bytes[0], 0);
    let id = i64::from(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]));
    assert_ne!(id, existing);

    // Reading needs no credential.
    let decoder = AvroDecoder::new(SrSettings::new(app.address.clone()));
    let decoded = decoder.decode(Some(&bytes)).await.expect("decode");
    assert_eq!(
        decoded.value,
        Value::Record(vec![
            ("id".to_owned(), Value::String("ep-1".to_owned())),
            ("pos".to_owned(), Value::Long(42)),
        ])
    );
}
