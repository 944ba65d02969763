//! The fixtures: `# expect: CODE` markers in `fixtures/invalid/` match the diagnostics exactly
//! (code and line); `fixtures/valid/` is clean; the shipped examples load.

mod common;

use std::path::PathBuf;

use common::*;

/// A fixture unit: one file, or a directory whose files make one topology.
fn units(dir: &str) -> Vec<Vec<PathBuf>> {
    let dir = root().join(dir);
    let mut out = Vec::new();
    let mut groups: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for file in files_under(&dir, &[".yaml", ".yml"]) {
        let parent = file.parent().unwrap().to_path_buf();
        // Files directly in the fixture folder (or its `rules/`) stand alone; deeper folders are
        // one multi-file topology each.
        if parent == dir || parent == dir.join("rules") {
            out.push(vec![file]);
        } else {
            groups.entry(parent).or_default().push(file);
        }
    }
    out.extend(groups.into_values());
    out
}

#[test]
fn invalid_fixtures_report_exactly_their_markers() {
    let mut failures = Vec::new();
    let units = units("fixtures/invalid");
    assert!(
        units.len() >= 20,
        "expected a corpus of invalid fixtures, found {}",
        units.len()
    );
    for unit in units {
        let analysis = check(&unit);
        let mut expected = Vec::new();
        for path in &unit {
            let text = std::fs::read_to_string(path).unwrap();
            let name = topolint::load::display_name(path);
            for (line, code) in expectations(&text) {
                expected.push((name.clone(), line, code));
            }
        }
        expected.sort();
        let found = found(&analysis);
        if found != expected {
            failures.push(format!(
                "{}:\n  expected {expected:?}\n  found    {found:?}\n  messages: {:?}",
                unit[0].display(),
                analysis
                    .diagnostics
                    .iter()
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_are_clean() {
    let units = units("fixtures/valid");
    assert!(units.len() >= 5);
    for unit in units {
        let analysis = check(&unit);
        let found: Vec<_> = analysis
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        assert!(found.is_empty(), "{}: {found:#?}", unit[0].display());
    }
}

#[test]
fn examples_load_without_errors() {
    for example in [
        "fixtures/examples/shop",
        "fixtures/examples/small.topology.yaml",
    ] {
        let analysis = check(&[root().join(example)]);
        assert!(
            !analysis.has_load_errors(),
            "{example}: {:#?}",
            analysis.diagnostics
        );
    }
}

#[test]
fn messages_follow_the_style() {
    // Lower case, no trailing period, a help text on every finding (clippy's message convention).
    let mut all = Vec::new();
    for unit in units("fixtures/invalid")
        .into_iter()
        .chain(units("fixtures/examples"))
    {
        all.extend(check(&unit).diagnostics);
    }
    all.extend(check(&[root().join("fixtures/examples/shop")]).diagnostics);
    assert!(!all.is_empty());
    for d in &all {
        let first = d.message.chars().next().unwrap();
        assert!(
            !first.is_uppercase(),
            "{}: message starts upper case: {}",
            d.code,
            d.message
        );
        assert!(
            !d.message.ends_with('.'),
            "{}: message ends with a period: {}",
            d.code,
            d.message
        );
        if !d.is_load_error() || d.code == "T003" || d.code == "T004" {
            assert!(d.help.is_some(), "{}: no help: {}", d.code, d.message);
        }
    }
}
