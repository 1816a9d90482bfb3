//! The JSON contract's schema (assets/tcpwatch-v1.schema.json), checked
//! against real documents.

use serde_json::Value;

pub fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/tcpwatch-v1.schema.json"
    ))
    .expect("read the schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// Panics with every violation when `document` does not match the schema.
pub fn assert_valid(validator: &jsonschema::Validator, document: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}\nin {document}",
        errors.join("\n")
    );
}
