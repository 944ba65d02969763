//! The JSON Schema of the topology format, generated from the model.

use schemars::generate::SchemaSettings;

use crate::model::Document;

/// The schema as JSON.
pub fn topology_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Document>();
    let mut value = serde_json::to_value(schema).expect("a schema is JSON");
    drop_null(&mut value);
    value
}

/// Optional fields are absent, never `null`: the loader rejects `timeout: ~`, so the schema must
/// too. schemars makes every `Option` nullable; this takes the `null` out again.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| {
                        o.get("type").is_none_or(|t| t != "null")
                            || o.as_object().is_some_and(|m| m.len() > 1)
                    });
                    if options.len() == 1 {
                        let only = options.remove(0);
                        map.remove(key);
                        if let Value::Object(inner) = only {
                            for (k, v) in inner {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                }
            }
            for v in map.values_mut() {
                drop_null(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// The schema as committed in `schema/topology.schema.json`.
pub fn topology_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&topology_schema()).expect("a schema is JSON");
    text.push('\n');
    text
}
