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

/// How the files of src/lints add up to the docs of lints/: each file that declares a rule's
/// `META` is registered with a check, the loader's and the engine's codes (T001-T004, L001) are
/// registered without one, and the other files of the folder are the registry, the engine and
/// what rules share. 26 rule files + 5 codes without a file = 31 registered rules = 31 docs;
/// counting every file but the registry and the engine as a rule gives 29.
#[test]
fn every_rule_file_is_registered_and_every_other_file_is_support() {
    const SUPPORT: [&str; 5] = ["mod", "engine", "helpers", "identity", "sync_common"];
    let mut rule_files = Vec::new();
    for entry in std::fs::read_dir(root().join("src/lints")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(at) = text.find("pub const META: RuleMeta = RuleMeta {") else {
            assert!(
                SUPPORT.contains(&stem.as_str()),
                "{stem}.rs declares no rule"
            );
            continue;
        };
        assert!(
            !SUPPORT.contains(&stem.as_str()),
            "{stem}.rs is not a rule file"
        );
        let code = text[at..].split('"').nth(1).unwrap().to_string();
        let rule = RULES.iter().find(|r| r.meta.code == code);
        assert!(
            rule.is_some_and(|r| r.check.is_some()),
            "{stem}.rs: {code} is not registered with its check"
        );
        rule_files.push(code);
    }
    let without_file: Vec<&str> = RULES
        .iter()
        .filter(|r| r.check.is_none())
        .map(|r| r.meta.code)
        .collect();
    assert_eq!(without_file, ["T001", "T002", "T003", "T004", "L001"]);
    assert_eq!(rule_files.len(), 26);
    assert_eq!(rule_files.len() + without_file.len(), RULES.len());
    assert_eq!(RULES.len(), DOCS.len());
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
