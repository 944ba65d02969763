//! `--format sarif`: the structure GitHub code scanning reads, fingerprints that survive edits
//! elsewhere, and Microsoft's SARIF validator (`Sarif.Multitool validate --rule-kind "Gh;Sarif"`)
//! on every example and fixture.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;
use topolint::Analysis;
use topolint::lints::RULES;
use topolint::report::Report;
use topolint::report::sarif::{self, SourceRoot};

fn sarif_of(analysis: &Analysis, root: &Path) -> Value {
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    serde_json::from_str(&sarif::render_with_root(&report, &SourceRoot::at(root))).unwrap()
}

fn run(log: &Value) -> &Value {
    &log["runs"][0]
}

fn results(log: &Value) -> &Vec<Value> {
    run(log)["results"].as_array().unwrap()
}

#[test]
fn the_log_has_the_structure_code_scanning_reads() {
    let analysis = check(&[root().join("fixtures/examples/shop")]);
    let log = sarif_of(&analysis, &root());
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(log["version"], "2.1.0");
    let driver = &run(&log)["tool"]["driver"];
    assert_eq!(driver["name"], "topolint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );

    // Every rule, in registry order, with its doc as help.
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RULES.len());
    for (rule, registered) in rules.iter().zip(RULES) {
        let meta = registered.meta;
        assert_eq!(rule["id"], meta.code);
        let name = rule["name"].as_str().unwrap();
        assert!(name.chars().next().unwrap().is_ascii_uppercase() && !name.contains('-'));
        assert_eq!(name.to_lowercase(), meta.name.replace('-', ""));
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert!(rule["fullDescription"]["text"].as_str().unwrap().len() > 20);
        let doc = topolint::docs::doc(meta).unwrap();
        assert_eq!(rule["help"]["text"], doc);
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("## What it does")
        );
        assert_eq!(rule["helpUri"], topolint::docs::url(meta));
        assert_eq!(
            rule["defaultConfiguration"]["level"],
            match meta.severity.as_str() {
                "info" => "note",
                other => other,
            }
        );
    }

    let base = &run(&log)["originalUriBaseIds"]["%SRCROOT%"]["uri"];
    assert!(
        base.as_str().unwrap().starts_with("file:///") && base.as_str().unwrap().ends_with('/')
    );

    let results = results(&log);
    assert_eq!(
        results.len(),
        analysis.diagnostics.len() + analysis.suppressed.len()
    );
    for (result, d) in results.iter().zip(&analysis.diagnostics) {
        assert_eq!(result["ruleId"], d.code);
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], d.code);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with(&d.message)
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("fixtures/examples/shop/"), "{uri}");
        let file = analysis.loaded.sources.get(d.span.file);
        let (start, end) = analysis.loaded.sources.range(d.span);
        let region = &location["region"];
        assert_eq!(region["startLine"], start.line);
        assert_eq!(region["startColumn"], start.column);
        assert_eq!(region["endLine"], end.line);
        assert_eq!(region["endColumn"], end.column);
        assert!(file.name.ends_with(uri.rsplit('/').next().unwrap()));
        let fingerprint = result["partialFingerprints"]["topolintIdentity/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fingerprint.len(), 16);

        let related = result["relatedLocations"].as_array();
        assert_eq!(related.map_or(0, Vec::len), d.related.len());
        for (i, (r, expected)) in related.into_iter().flatten().zip(&d.related).enumerate() {
            assert_eq!(r["id"], i + 1);
            assert_eq!(r["message"]["text"], expected.label.as_str());
            let (start, _) = analysis.loaded.sources.range(expected.span);
            assert_eq!(r["physicalLocation"]["region"]["startLine"], start.line);
        }
    }
    // The suppressed findings come last, marked as suppressed in the source.
    let suppressed = &results[analysis.diagnostics.len()..];
    assert!(!suppressed.is_empty());
    for (result, s) in suppressed.iter().zip(&analysis.suppressed) {
        assert_eq!(result["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            result["suppressions"][0]["justification"],
            s.reason.as_str()
        );
    }
    // Fingerprints tell every finding apart.
    let mut prints: Vec<_> = results
        .iter()
        .map(|r| r["partialFingerprints"].to_string())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), results.len());
}

#[test]
fn path_findings_carry_a_thread_flow_of_their_hops() {
    for (fixture, code) in [
        ("S101-deep-sync-chain", "S101"),
        ("S104-retry-amplification", "S104"),
        ("S106-latency-budget-exceeded", "S106"),
        ("S107-sync-cycle", "S107"),
    ] {
        let path = root().join(format!("fixtures/invalid/rules/{fixture}.topology.yaml"));
        let analysis = check(&[path]);
        let log = sarif_of(&analysis, &root());
        let (result, d) = results(&log)
            .iter()
            .zip(&analysis.diagnostics)
            .find(|(r, _)| r["ruleId"] == code)
            .unwrap();
        let steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .unwrap_or_else(|| panic!("{code} has no thread flow"));
        // The primary span and every related span, each once, in the order of the path.
        assert_eq!(steps.len(), d.related.len() + 1, "{code}");
        let labels: Vec<&str> = steps
            .iter()
            .map(|s| s["location"]["message"]["text"].as_str().unwrap())
            .collect();
        let related: Vec<&str> = d.related.iter().map(|r| r.label.as_str()).collect();
        if code == "S104" {
            assert_eq!(&labels[..related.len()], related.as_slice());
        } else {
            assert_eq!(&labels[1..], related.as_slice());
        }
    }
    // Other findings have no flow.
    let analysis =
        check(&[root().join("fixtures/invalid/rules/S102-missing-timeout.topology.yaml")]);
    let log = sarif_of(&analysis, &root());
    assert!(results(&log).iter().all(|r| r.get("codeFlows").is_none()));
}

fn fingerprints(analysis: &Analysis) -> Vec<(String, u64, String)> {
    let log = sarif_of(analysis, &root());
    results(&log)
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap(),
                r["partialFingerprints"]["topolintIdentity/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_moving_lines_and_inserting_items() {
    let text = "topolint: 1
services:
  web:
    user_facing: true
    budget: 2s
    calls:
      - { to: orders }
      - { to: orders, timeout: 1s, circuit_breaker: true }
  orders:
    calls:
      - to: stock
  stock: {}
";
    let before = fingerprints(&check_text(text));
    assert!(before.len() >= 3, "{before:?}");
    // Lines above, and a new call before the flagged ones in the same list: every line number
    // and list index moves, no fingerprint does.
    let moved = text
        .replace("topolint: 1\n", "# a comment\n\ntopolint: 1\n")
        .replace(
            "    calls:\n      - { to: orders }",
            "    calls:\n      - { to: search, timeout: 1s, circuit_breaker: true }\n      - { to: orders }",
        )
        .replace("  stock: {}\n", "  stock: {}\n  search: {}\n");
    let after = fingerprints(&check_text(&moved));
    let unchanged: Vec<_> = before.iter().map(|(c, _, f)| (c, f)).collect();
    for (code, line, print) in &before {
        let (_, new_line, _) = after
            .iter()
            .find(|(c, _, f)| c == code && f == print)
            .unwrap_or_else(|| panic!("{code} at line {line} changed fingerprint: {after:?}"));
        assert!(new_line > line, "{code} did not move");
    }
    assert_eq!(after.len(), unchanged.len());
}

/// The validator: `SARIF_MULTITOOL` if set, else the npm package installed at the repository
/// root (`npm ci`, from `package.json`).
fn multitool() -> Option<PathBuf> {
    let path = match std::env::var_os("SARIF_MULTITOOL") {
        Some(p) => PathBuf::from(p),
        None => root().join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"),
    };
    if !path.is_file() {
        return None;
    }
    // The package's postinstall makes it executable; npm may be set not to run install scripts.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).ok()?.permissions().mode();
    if mode & 0o100 == 0 {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | 0o100));
    }
    Some(path)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Every shipped example, and fixtures that use every part of the log: thread flows, related
/// locations across files, loading problems, suppressions. (Not all fixtures: the validator takes
/// most of a second a log.)
fn targets() -> Vec<PathBuf> {
    [
        "fixtures/examples/shop",
        "fixtures/examples/small.topology.yaml",
        "fixtures/invalid/dup-across-files",
        "fixtures/invalid/T001-unclosed-flow-mapping.topology.yaml",
        "fixtures/invalid/T003-unknown-edge-target.topology.yaml",
        "fixtures/invalid/rules/S101-deep-sync-chain.topology.yaml",
        "fixtures/invalid/rules/S104-retry-amplification.topology.yaml",
        "fixtures/invalid/rules/S106-latency-budget-exceeded.topology.yaml",
        "fixtures/invalid/rules/S107-sync-cycle.topology.yaml",
        "fixtures/invalid/rules/L001-unused-allow.topology.yaml",
        "fixtures/valid/allow-suppresses.topology.yaml",
    ]
    .into_iter()
    .map(PathBuf::from)
    .inspect(|p| assert!(root().join(p).exists(), "{} is gone", p.display()))
    .collect()
}

const VALIDATOR_CONFIG: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" />
  </Properties>
</Properties>
"#;

#[test]
fn microsofts_validator_accepts_every_log() {
    let Some(tool) = multitool() else {
        let why = "the SARIF validator is not installed: run `npm ci` at the repository root \
                   (package.json lists @microsoft/sarif-multitool-linux), or set SARIF_MULTITOOL";
        assert!(!in_ci(), "{why}; CI must run this test");
        eprintln!("SKIPPED microsofts_validator_accepts_every_log: {why}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for (i, target) in targets().iter().enumerate() {
        // From the repository root, as CI runs it: URIs relative to the root.
        let out = Command::new(env!("CARGO_BIN_EXE_topolint"))
            .current_dir(root())
            .args(["check", "--format", "sarif", "--fail-on", "never"])
            .arg(target)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{}: {}",
            target.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let log = dir.path().join(format!("{i:02}.sarif"));
        std::fs::write(&log, &out.stdout).unwrap();
        logs.push(log);
    }
    // SARIF2006 fetches every URI in the log over the network: topolint's tests never touch
    // the network, and the rule only ever gives notes.
    let config = dir.path().join("validator.xml");
    std::fs::write(&config, VALIDATOR_CONFIG).unwrap();
    let findings = dir.path().join("validation.sarif");
    let out = Command::new(&tool)
        .args([
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--level",
            "Error;Warning",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&findings)
        .args(&logs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && findings.is_file(),
        "the validator failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&findings).unwrap()).unwrap();
    let problems: Vec<String> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .map(|r| format!("{} {}: {}", r["level"], r["ruleId"], r["message"]))
        .collect();
    assert!(
        problems.is_empty(),
        "the validator reports errors or warnings:\n{}\n{stdout}",
        problems.join("\n")
    );
    // It read every log.
    assert!(
        stdout.contains(&format!("{} files scanned", logs.len())),
        "{stdout}"
    );
}

#[test]
fn the_command_line_writes_uris_relative_to_the_repository_root() {
    // From a subdirectory, the URIs still start at the root (found by its `.git`).
    let out = Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(root().join("fixtures/examples"))
        .args(["check", "--format", "sarif", "small.topology.yaml"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let location = &results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    if root().join(".git").exists() {
        assert_eq!(location["uri"], "fixtures/examples/small.topology.yaml");
        assert_eq!(location["uriBaseId"], "%SRCROOT%");
    }
    // Outside any repository, the working directory is the root.
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a b");
    std::fs::create_dir(&nested).unwrap();
    std::fs::copy(
        root().join("fixtures/examples/small.topology.yaml"),
        nested.join("small.topology.yaml"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(dir.path())
        .args(["check", "--format", "sarif", "a b"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let location = &results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    if !dir.path().ancestors().any(|d| d.join(".git").exists()) {
        assert_eq!(location["uri"], "a%20b/small.topology.yaml");
    }
}

#[test]
fn the_streamed_log_is_the_log_pretty_printed_whole() {
    // The log is written result by result; its bytes are those of serde_json's pretty printing
    // of the whole log (keys sorted), with results, with suppressed ones, and with none.
    let texts = [
        "topolint: 1\nservices:\n  web: { calls: [{ to: api }] }\n  api: {}\n",
        "topolint: 1\nservices:\n  web: { calls: [{ to: api }] }\n  api: {}\nallow:\n  - { rule: S102, reason: legacy }\n",
        "topolint: 1\nservices:\n  web: {}\n",
    ];
    for (i, text) in texts.into_iter().enumerate() {
        let analysis = check_text(text);
        let shape = (
            analysis.diagnostics.is_empty(),
            analysis.suppressed.is_empty(),
        );
        assert_eq!(
            shape,
            [(false, true), (true, false), (true, true)][i],
            "{text}"
        );
        let report = Report {
            sources: &analysis.loaded.sources,
            diagnostics: &analysis.diagnostics,
            suppressed: &analysis.suppressed,
        };
        let written = sarif::render_with_root(&report, &SourceRoot::at(&root()));
        let whole: Value = serde_json::from_str(&written).unwrap();
        let count = analysis.diagnostics.len() + analysis.suppressed.len();
        assert_eq!(results(&whole).len(), count);
        assert_eq!(
            written,
            serde_json::to_string_pretty(&whole).unwrap() + "\n"
        );
    }
}
