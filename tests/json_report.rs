//! The JSON report: its committed schema is current, every fixture's report validates against it,
//! the schema rejects what it should, and `docs/json-report.md` documents every field.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;
use topolint::load;
use topolint::report::{self, Format, Report};

const SCHEMA_PATH: &str = "schema/report.schema.json";

#[test]
fn committed_report_schema_is_current() {
    assert_committed(SCHEMA_PATH, &report::json::schema_text(), "json_report");
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join(SCHEMA_PATH)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the report schema is a valid schema")
}

fn errors(validator: &jsonschema::Validator, report: &Value) -> Vec<String> {
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn json_of(paths: &[PathBuf]) -> Value {
    let analysis = check(paths);
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    serde_json::from_str(&report::render(Format::Json, &report, false)).unwrap()
}

#[test]
fn every_fixture_report_validates() {
    let validator = validator();
    let units = common::fixture_units();
    assert!(units.len() > 40, "found only {} fixtures", units.len());
    let (mut diagnostics, mut suppressed, mut related, mut failures) = (0, 0, 0, Vec::new());
    for unit in &units {
        let json = json_of(unit);
        diagnostics += json["diagnostics"].as_array().unwrap().len();
        suppressed += json["suppressed"].as_array().unwrap().len();
        related += json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| !d["related"].as_array().unwrap().is_empty())
            .count();
        let errors = errors(&validator, &json);
        if !errors.is_empty() {
            failures.push(format!("{}: {errors:#?}", unit[0].display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The corpus exercises every part of the schema.
    assert!(diagnostics > 40 && suppressed > 0 && related > 5);
}

/// `check` frees an ASCII file's text before the rules run when its report shows no source text
/// (JSON, concise, GitHub): the reports it writes must be the ones rendered with the text kept.
#[test]
fn reports_without_source_text_are_the_same_after_the_text_is_freed() {
    let units: Vec<PathBuf> = [
        "fixtures/examples/shop",
        "fixtures/examples/small.topology.yaml",
        "fixtures/invalid/rules",
        "fixtures/invalid/T002-bad-enum.topology.yaml",
    ]
    .iter()
    .map(|p| root().join(p))
    .collect();
    let mut findings = 0;
    for unit in units {
        let loaded = load::load_paths(std::slice::from_ref(&unit), &Default::default()).unwrap();
        let analysis = topolint::analyze(loaded, &Default::default());
        let report = Report {
            sources: &analysis.loaded.sources,
            diagnostics: &analysis.diagnostics,
            suppressed: &analysis.suppressed,
        };
        findings += analysis.diagnostics.len();
        for (format, name) in [
            (Format::Json, "json"),
            (Format::Concise, "concise"),
            (Format::Github, "github"),
        ] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_topolint"))
                .current_dir(root())
                .args(["check", "--fail-on", "never", "--format", name])
                .arg(&unit)
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                report::render(format, &report, false),
                "{name} of {}",
                unit.display()
            );
        }
    }
    assert!(findings > 40, "{findings}");
}

#[test]
fn the_command_line_report_validates() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_topolint"))
        .args(["check", "--format", "json"])
        .arg(root().join("fixtures/examples/shop"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(errors(&validator(), &json), Vec::<String>::new());
}

#[test]
fn the_schema_rejects_broken_reports() {
    let validator = validator();
    let good = json_of(&[root().join("fixtures/examples/shop")]);
    assert!(validator.is_valid(&good));
    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage); 7] = [
        ("line 0", |r| r["diagnostics"][0]["span"]["line"] = 0.into()),
        ("unknown severity", |r| {
            r["diagnostics"][0]["severity"] = "fatal".into()
        }),
        ("bad code", |r| r["diagnostics"][0]["code"] = "S1".into()),
        ("unknown field", |r| {
            r["diagnostics"][0]["extra"] = true.into()
        }),
        ("missing path", |r| {
            r["diagnostics"][0].as_object_mut().unwrap().remove("path");
        }),
        ("version 2", |r| r["version"] = 2.into()),
        ("unknown summary field", |r| {
            r["summary"]["fatal"] = 0.into()
        }),
    ];
    for (what, breakage) in breakages {
        let mut bad = good.clone();
        breakage(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the schema accepts a report with {what}"
        );
    }
}

/// Every property name in the schema, with the definition that holds it.
fn properties(schema: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |def: &str, v: &Value| {
        if let Some(props) = v["properties"].as_object() {
            for name in props.keys() {
                out.push((def.to_string(), name.clone()));
            }
        }
    };
    add("report", schema);
    for (def, v) in schema["$defs"].as_object().unwrap() {
        add(def, v);
    }
    out
}

#[test]
fn the_doc_describes_every_field() {
    let doc = std::fs::read_to_string(root().join("docs/json-report.md")).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(SCHEMA_PATH)).unwrap()).unwrap();
    let fields = properties(&schema);
    assert!(fields.len() > 20);
    let missing: Vec<_> = fields
        .iter()
        .filter(|(_, name)| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/json-report.md does not describe {missing:?}"
    );
}
