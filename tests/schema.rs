//! The committed JSON Schema is current, and it agrees with the loader on every fixture.

mod common;

use common::*;
use serde_json::Value;
use topolint::load::FIELDS;

const SCHEMA_PATH: &str = "schema/topology.schema.json";

#[test]
fn committed_schema_is_current() {
    assert_committed(
        SCHEMA_PATH,
        &topolint::schema::topology_schema_text(),
        "schema",
    );
}

fn schema() -> Value {
    topolint::schema::topology_schema()
}

/// Property names of a `$defs` entry (following `allOf`/flattened parts).
fn properties(schema: &Value, name: &str) -> Vec<String> {
    let def = &schema["$defs"][name];
    let def = if def.is_null() && name == "Document" {
        schema
    } else {
        def
    };
    let mut out: Vec<String> = def["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn loader_fields_match_schema_properties() {
    let schema = schema();
    for (name, fields) in FIELDS {
        let mut fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        fields.sort();
        assert_eq!(properties(&schema, name), fields, "fields of {name}");
    }
}

#[test]
fn every_object_in_the_schema_rejects_unknown_fields() {
    fn walk(v: &Value, at: &str) {
        if let Some(map) = v.as_object() {
            if map.get("properties").is_some() {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&Value::Bool(false)),
                    "{at} allows unknown fields"
                );
                assert!(map.get("description").is_some(), "{at} has no description");
                for (k, p) in map["properties"].as_object().unwrap() {
                    assert!(
                        p.get("description").is_some() || p.get("$ref").is_some(),
                        "{at}.{k} has no description"
                    );
                }
            }
            for (k, child) in map {
                walk(child, &format!("{at}.{k}"));
            }
        }
    }
    walk(&schema(), "#");
}

/// Structural validity as the loader sees it: no T001/T002.
fn loader_accepts(path: &std::path::Path) -> (bool, Vec<String>) {
    let analysis = check(&[path.to_path_buf()]);
    let problems: Vec<String> = analysis
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, "T001" | "T002") && !d.message.starts_with("unknown rule"))
        .map(|d| d.message.clone())
        .collect();
    (problems.is_empty(), problems)
}

#[test]
fn schema_and_loader_agree_on_every_fixture() {
    let validator = jsonschema::validator_for(&schema()).expect("the schema compiles");
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for path in files_under(&root().join("fixtures"), &[".yaml", ".yml"]) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let schema_ok = yaml_to_json(&text).is_some_and(|json| validator.is_valid(&json));
        let (loader_ok, problems) = loader_accepts(&path);
        checked += 1;
        if schema_ok != loader_ok {
            let errors: Vec<String> = yaml_to_json(&text)
                .map(|json| {
                    validator
                        .iter_errors(&json)
                        .map(|e| format!("{} at {}", e, e.instance_path()))
                        .collect()
                })
                .unwrap_or_else(|| vec!["YAML does not parse".into()]);
            disagreements.push(format!("{}: schema {schema_ok}, loader {loader_ok}\n  loader: {problems:?}\n  schema: {errors:?}", path.display()));
        }
    }
    assert!(checked >= 30, "only {checked} fixtures");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn schema_command_prints_the_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_topolint"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        topolint::schema::topology_schema_text()
    );
}
