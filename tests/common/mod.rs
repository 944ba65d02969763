//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser};
use serde_json::{Map, Value};
use topolint::diagnostic::Diagnostic;
use topolint::lints::engine::RuleConfig;
use topolint::load::{self, Limits, Plain};
use topolint::source::{FileId, SourceFile, Sources};
use topolint::{Analysis, analyze};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads and lints paths with the default settings.
pub fn check(paths: &[PathBuf]) -> Analysis {
    let loaded = load::load_paths(paths, &Limits::default()).expect("fixture paths are readable");
    analyze(loaded, &RuleConfig::default())
}

/// Loads and lints YAML text given in memory.
pub fn check_text(text: &str) -> Analysis {
    check_texts(&[("test.topology.yaml", text)])
}

pub fn check_texts(files: &[(&str, &str)]) -> Analysis {
    analyze(load_texts(files), &RuleConfig::default())
}

/// Loads files given in memory as (name, text), with the default limits.
pub fn load_texts(files: &[(&str, &str)]) -> load::Loaded {
    let mut sources = Sources::default();
    let mut unreadable = Vec::new();
    for (name, text) in files {
        let (file, problem) = load::from_bytes(
            PathBuf::from(name),
            name.to_string(),
            text.as_bytes().to_vec(),
        );
        let id = sources.add(file);
        if let Some(p) = problem {
            unreadable.push((id, p));
        }
    }
    load::load_sources(sources, &unreadable, &Limits::default())
}

/// Every example, every invalid fixture and every valid one: each file alone, each folder of
/// files as one topology.
pub fn fixture_units() -> Vec<Vec<PathBuf>> {
    let mut out = vec![
        vec![root().join("fixtures/examples/shop")],
        vec![root().join("fixtures/examples/small.topology.yaml")],
        vec![root().join("fixtures/invalid/dup-across-files")],
    ];
    for dir in [
        "fixtures/invalid",
        "fixtures/invalid/rules",
        "fixtures/valid",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                out.push(vec![path]);
            }
        }
    }
    out.sort();
    out
}

/// `(file name, line, code)` of every diagnostic's primary span.
pub fn found(analysis: &Analysis) -> Vec<(String, u32, String)> {
    let mut out: Vec<_> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let file = analysis.loaded.sources.get(d.span.file);
            (
                file.name.clone(),
                file.position(d.span.start).line,
                d.code.to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn codes(analysis: &Analysis) -> Vec<&'static str> {
    analysis.diagnostics.iter().map(|d| d.code).collect()
}

/// `# expect: CODE[, CODE]` markers of a file, as `(line, code)`.
pub fn expectations(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(pos) = line.find("# expect:") {
            for code in line[pos + "# expect:".len()..].split(',') {
                let code = code.split_whitespace().next().unwrap_or("");
                if !code.is_empty() {
                    out.push((i as u32 + 1, code.to_string()));
                }
            }
        }
    }
    out
}

/// Every file under `dir` (recursively) with one of the extensions.
pub fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.file_type().is_file() && extensions.iter().any(|e| name.ends_with(e)) {
            out.push(entry.into_path());
        }
    }
    out
}

/// YAML → JSON under the core schema (what a YAML-aware JSON Schema validator sees), built from
/// the same parser's events. `None` when the YAML does not parse.
pub fn yaml_to_json(text: &str) -> Option<Value> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<(Value, Option<String>)> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Value> = std::collections::HashMap::new();
    let mut anchor_stack: Vec<usize> = Vec::new();
    let mut root = None;
    fn place(stack: &mut [(Value, Option<String>)], root: &mut Option<Value>, v: Value) {
        match stack.last_mut() {
            None => *root = Some(v),
            Some((Value::Array(items), _)) => items.push(v),
            Some((Value::Object(map), key)) => match key.take() {
                None => {
                    *key = Some(match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                }
                Some(k) => {
                    map.insert(k, v);
                }
            },
            Some(_) => unreachable!(),
        }
    }
    while let Some(ev) = parser.next_event() {
        let (event, _) = ev.ok()?;
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let v = match Plain::resolve(&text, style) {
                    Plain::Null => Value::Null,
                    Plain::Bool(b) => Value::Bool(b),
                    Plain::Int(n) => serde_json::json!(n as i64),
                    Plain::Float(f) => serde_json::json!(f),
                    Plain::Str => Value::String(text.to_string()),
                };
                if anchor != 0 {
                    anchors.insert(anchor, v.clone());
                }
                place(&mut stack, &mut root, v);
            }
            Event::SequenceStart(anchor, _) => {
                anchor_stack.push(anchor);
                stack.push((Value::Array(Vec::new()), None));
            }
            Event::MappingStart(anchor, _) => {
                anchor_stack.push(anchor);
                stack.push((Value::Object(Map::new()), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, _) = stack.pop()?;
                let anchor = anchor_stack.pop()?;
                if anchor != 0 {
                    anchors.insert(anchor, v.clone());
                }
                place(&mut stack, &mut root, v);
            }
            Event::Alias(id) => {
                let v = anchors.get(&id)?.clone();
                place(&mut stack, &mut root, v);
            }
            _ => {}
        }
    }
    Some(root.unwrap_or(Value::Null))
}

pub fn message_of(d: &Diagnostic) -> &str {
    &d.message
}

pub fn source(name: &str, text: &str) -> SourceFile {
    SourceFile::new(PathBuf::from(name), name.to_string(), text.to_string())
}

pub fn file_id(i: u32) -> FileId {
    FileId::new(i)
}

/// Checks that a generated file committed at `relative` (from the crate root) equals `generated`;
/// with `TOPOLINT_UPDATE` set, rewrites it instead. `test` names the test target to rerun.
pub fn assert_committed(relative: &str, generated: &str, test: &str) {
    let path = root().join(relative);
    if std::env::var_os("TOPOLINT_UPDATE").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is stale: run `TOPOLINT_UPDATE=1 cargo test --test {test}` and commit it"
    );
}
