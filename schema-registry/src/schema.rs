//! A schema as submitted by a client, validated as Avro and reduced to the form that decides
//! identity.
//!
//! Identity is *not* Avro's Parsing Canonical Form: that form drops `doc`, `default` and
//! `aliases`, so a schema that only adds a default or a doc would be taken for the earlier one and
//! its text would never be stored. Like Confluent, we compare the whole schema, insensitive to
//! whitespace and key order: the JSON re-serialized compactly with object keys sorted.

use apache_avro::Schema;
use serde::Deserialize;
use serde_json::Value;

use crate::error::RegistryError;

/// The request body shared by register, look-up and compatibility checks.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    pub schema: String,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<Value>>,
}

/// A valid Avro schema with the text the client sent and its identity key.
#[derive(Debug)]
pub struct ParsedSchema {
    /// Stored and served as registered: clients compare it loosely and keep their formatting.
    pub text: String,
    /// Sorted-key compact JSON; equal for schemas that differ only in layout.
    pub normalized: String,
    pub schema: Schema,
}

impl ParsedSchema {
    /// Validates a request: Avro only, no references (not supported here), parseable schema.
    pub fn from_request(request: SchemaRequest) -> Result<Self, RegistryError> {
        if let Some(kind) = request.schema_type.as_deref()
            && !kind.eq_ignore_ascii_case("AVRO")
        {
            return Err(RegistryError::InvalidSchema(format!(
                "schemaType {kind} is not supported: this registry only stores AVRO schemas"
            )));
        }
        if request.references.as_ref().is_some_and(|r| !r.is_empty()) {
            return Err(RegistryError::InvalidSchema(
                "schema references are not supported by this registry".to_owned(),
            ));
        }
        Self::parse(request.schema)
    }

    pub fn parse(text: String) -> Result<Self, RegistryError> {
        if text.trim().is_empty() {
            return Err(RegistryError::InvalidSchema("Empty schema".to_owned()));
        }
        let schema =
            Schema::parse_str(&text).map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
        let normalized = sorted(json).to_string();
        Ok(Self {
            text,
            normalized,
            schema,
        })
    }
}

/// Parses a schema already in the store; it was valid when registered.
pub fn parse_stored(text: &str) -> Result<Schema, RegistryError> {
    Schema::parse_str(text).map_err(|e| RegistryError::InvalidSchema(e.to_string()))
}

/// Rebuilds every object with its keys inserted in sorted order, so the result does not depend on
/// whether serde_json's `preserve_order` feature is enabled elsewhere in the build.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedSchema, RegistryError> {
        ParsedSchema::parse(text.to_owned())
    }

    #[test]
    fn layout_and_key_order_do_not_change_identity() {
        let a = parse(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}"#);
        let b = parse(
            r#"{ "name" : "A", "fields": [ {"type":"int", "name":"x"} ],
                "type": "record" }"#,
        );
        assert_eq!(a.unwrap().normalized, b.unwrap().normalized);
    }

    #[test]
    fn a_new_default_or_doc_changes_identity() {
        let plain = parse(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}"#);
        let with_default = parse(
            r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int","default":1}]}"#,
        );
        let with_doc =
            parse(r#"{"type":"record","name":"A","doc":"d","fields":[{"name":"x","type":"int"}]}"#);
        let plain = plain.unwrap().normalized;
        assert_ne!(plain, with_default.unwrap().normalized);
        assert_ne!(plain, with_doc.unwrap().normalized);
    }

    #[test]
    fn invalid_avro_and_empty_text_are_rejected() {
        for text in [
            "",
            "  ",
            "{",
            r#"{"type":"record","name":"A"}"#,
            r#""nope""#,
        ] {
            assert!(
                matches!(parse(text), Err(RegistryError::InvalidSchema(_))),
                "{text:?} should be invalid"
            );
        }
    }

    #[test]
    fn only_avro_without_references_is_accepted() {
        let request = |schema_type: Option<&str>, references: Option<Vec<Value>>| SchemaRequest {
            schema: r#""string""#.to_owned(),
            schema_type: schema_type.map(str::to_owned),
            references,
        };
        assert!(ParsedSchema::from_request(request(None, None)).is_ok());
        assert!(ParsedSchema::from_request(request(Some("AVRO"), Some(vec![]))).is_ok());
        assert!(ParsedSchema::from_request(request(Some("JSON"), None)).is_err());
        assert!(ParsedSchema::from_request(request(Some("PROTOBUF"), None)).is_err());
        let reference = serde_json::json!({"name": "x", "subject": "s", "version": 1});
        assert!(ParsedSchema::from_request(request(None, Some(vec![reference]))).is_err());
    }
}
