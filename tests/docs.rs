//! Every rule has a doc and every doc a rule; every doc's examples run: the failing one gives
//! exactly that rule, the passing one gives nothing.

mod common;

use common::*;
use topolint::docs::{self, DOCS};
use topolint::lints::RULES;

#[test]
fn every_rule_has_a_doc_and_every_doc_a_rule() {
    for rule in RULES {
        assert!(
            docs::doc(rule.meta).is_some(),
            "{} {} has no doc in lints/",
            rule.meta.code,
            rule.meta.name
        );
    }
    for (stem, _) in DOCS {
        assert!(
            RULES
                .iter()
                .any(|r| format!("{}-{}", r.meta.code, r.meta.name) == *stem),
            "lints/{stem}.md documents no registered rule"
        );
    }
}

#[test]
fn docs_have_the_sections() {
    for rule in RULES {
        let doc = docs::doc(rule.meta).unwrap();
        assert!(
            doc.starts_with(&format!("# {} {}\n", rule.meta.code, rule.meta.name)),
            "{}: title",
            rule.meta.code
        );
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Configuration",
        ] {
            assert!(doc.contains(section), "{}: no `{section}`", rule.meta.code);
        }
        assert!(
            doc.contains(&format!("**Default severity:** {}", rule.meta.severity)),
            "{}: severity line",
            rule.meta.code
        );
    }
}

#[test]
fn doc_examples_fire_exactly_their_rule() {
    let mut failures = Vec::new();
    for rule in RULES {
        let doc = docs::doc(rule.meta).unwrap();
        let code = rule.meta.code;
        let example =
            docs::example(doc, "Example").unwrap_or_else(|| panic!("{code}: no yaml Example"));
        let analysis = check_text(example);
        let found = codes(&analysis);
        if found.is_empty() || found.iter().any(|c| *c != code) {
            failures.push(format!(
                "{code} Example gives {:?}",
                analysis
                    .diagnostics
                    .iter()
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect::<Vec<_>>()
            ));
        }
        let fixed = docs::example(doc, "Use instead")
            .unwrap_or_else(|| panic!("{code}: no yaml Use instead"));
        let analysis = check_text(fixed);
        if !analysis.diagnostics.is_empty() {
            failures.push(format!(
                "{code} Use instead gives {:?}",
                analysis
                    .diagnostics
                    .iter()
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn explain_prints_the_doc_by_code_and_by_name() {
    let bin = env!("CARGO_BIN_EXE_topolint");
    let by_code = std::process::Command::new(bin)
        .args(["explain", "S101"])
        .output()
        .unwrap();
    let by_name = std::process::Command::new(bin)
        .args(["explain", "deep-sync-chain"])
        .output()
        .unwrap();
    assert!(by_code.status.success());
    assert_eq!(by_code.stdout, by_name.stdout);
    assert!(String::from_utf8_lossy(&by_code.stdout).starts_with("# S101 deep-sync-chain"));
    let unknown = std::process::Command::new(bin)
        .args(["explain", "deep-sync-chian"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `deep-sync-chain`"));
}

#[test]
fn rules_lists_every_rule_in_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_topolint"))
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), RULES.len());
    assert_eq!(list[0]["code"], "T001");
    assert!(
        list.iter().all(|r| r["name"].is_string()
            && r["severity"].is_string()
            && r["summary"].is_string())
    );
}
