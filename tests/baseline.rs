//! Baselines, round trip through the command line: written once, they hide the known findings
//! through edits elsewhere, let new ones through, and name the entries nothing matches any more.

use std::path::Path;
use std::process::Command;

const TOPOLOGY: &str = "topolint: 1
services:
  web:
    user_facing: true
    calls:
      - { to: orders }
      - { to: pay, timeout: 1s }
  orders: {}
  pay: {}
";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn topolint(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("t.topology.yaml"), text).unwrap();
}

fn with_baseline(dir: &Path) -> Run {
    topolint(
        dir,
        &[
            "t.topology.yaml",
            "--format",
            "concise",
            "--baseline",
            "b.json",
        ],
    )
}

#[test]
fn a_baseline_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, TOPOLOGY);
    let before = topolint(dir, &["t.topology.yaml", "--format", "concise"]);
    assert_eq!(before.code, Some(1));
    assert_eq!(before.stdout.lines().count(), 2, "{}", before.stdout);

    // Writing records both findings by rule and node, not by line, and reports them as known.
    let wrote = topolint(
        dir,
        &[
            "t.topology.yaml",
            "--format",
            "concise",
            "--write-baseline",
            "b.json",
        ],
    );
    assert_eq!(wrote.code, Some(0), "{}", wrote.stderr);
    assert_eq!(wrote.stdout, "");
    assert!(
        wrote.stderr.contains("wrote 2 findings"),
        "{}",
        wrote.stderr
    );
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("b.json")).unwrap()).unwrap();
    let keys: Vec<String> = baseline["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["code"].as_str().unwrap(),
                e["identity"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            "S102 services.web.calls[to=orders]",
            "S103 services.web.calls[to=pay]"
        ]
    );
    assert!(!baseline.to_string().contains("line"));

    // Re-run: nothing new.
    let again = with_baseline(dir);
    assert_eq!((again.code, again.stdout.as_str()), (Some(0), ""));
    assert!(
        again.stderr.contains("not reporting 2 findings"),
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("no longer"), "{}", again.stderr);

    // Unrelated lines at the top, and a clean call inserted before the flagged ones: every line
    // and list index moves, nothing is new.
    let moved = TOPOLOGY
        .replace("topolint: 1\n", "# owned by the web team\n\ntopolint: 1\n")
        .replace(
            "    calls:\n",
            "    calls:\n      - { to: search, timeout: 1s, circuit_breaker: true }\n",
        )
        + "  search: {}\n";
    write(dir, &moved);
    let after_move = with_baseline(dir);
    assert_eq!(
        (after_move.code, after_move.stdout.as_str()),
        (Some(0), ""),
        "{}",
        after_move.stderr
    );
    assert!(!after_move.stderr.contains("no longer"));

    // A new problem: only it is reported, and the exit code follows it alone.
    let added = moved.replace(
        "      - { to: pay, timeout: 1s }\n",
        "      - { to: pay, timeout: 1s }\n      - { to: stock }\n",
    ) + "  stock: {}\n";
    write(dir, &added);
    let new = with_baseline(dir);
    assert_eq!(new.code, Some(1));
    assert_eq!(new.stdout.lines().count(), 1, "{}", new.stdout);
    assert!(
        new.stdout
            .contains("error[S102 missing-timeout] call from web to stock has no timeout"),
        "{}",
        new.stdout
    );

    // A problem fixed: its entry is stale, named so that the file can shrink.
    let fixed = moved.replace(
        "{ to: orders }",
        "{ to: orders, timeout: 1s, circuit_breaker: true }",
    );
    write(dir, &fixed);
    let stale = with_baseline(dir);
    assert_eq!((stale.code, stale.stdout.as_str()), (Some(0), ""));
    assert!(
        stale
            .stderr
            .contains("1 entry of the baseline b.json no longer matches any finding"),
        "{}",
        stale.stderr
    );
    assert!(
        stale
            .stderr
            .contains("\n  S102 services.web.calls[to=orders]")
    );
    assert!(!stale.stderr.contains("S103 services"), "{}", stale.stderr);

    // Rewriting drops it.
    topolint(dir, &["t.topology.yaml", "--write-baseline", "b.json"]);
    let shrunk = with_baseline(dir);
    assert!(!shrunk.stderr.contains("no longer"), "{}", shrunk.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("b.json"))
            .unwrap()
            .matches("\"code\"")
            .count(),
        1
    );
}

#[test]
fn fail_on_counts_only_findings_the_baseline_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // Only the warning is known.
    write(
        dir,
        &TOPOLOGY.replace(
            "{ to: orders }",
            "{ to: orders, timeout: 1s, circuit_breaker: true }",
        ),
    );
    topolint(dir, &["t.topology.yaml", "--write-baseline", "b.json"]);
    write(dir, TOPOLOGY);
    for format in ["human", "concise", "json", "sarif", "github"] {
        let args = [
            "t.topology.yaml",
            "--baseline",
            "b.json",
            "--fail-on",
            "warning",
            "--format",
            format,
        ];
        // The error is new: exit 1 in every format, and the warning is not in the report.
        let run = topolint(dir, &args);
        assert_eq!(run.code, Some(1), "{format}");
        assert!(run.stdout.contains("S102"), "{format}: {}", run.stdout);
        let known = if format == "sarif" {
            // The log lists every rule; only results name a finding's rule in `ruleId`.
            "\"ruleId\": \"S103\""
        } else {
            "no circuit breaker"
        };
        assert!(!run.stdout.contains(known), "{format}: {}", run.stdout);
    }
    // With the error fixed, the known warning does not fail `--fail-on warning`.
    write(
        dir,
        &TOPOLOGY.replace(
            "{ to: orders }",
            "{ to: orders, timeout: 1s, circuit_breaker: true }",
        ),
    );
    let run = topolint(
        dir,
        &[
            "t.topology.yaml",
            "--baseline",
            "b.json",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
}

#[test]
fn entries_of_rules_that_did_not_run_are_not_stale() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, TOPOLOGY);
    topolint(dir, &["t.topology.yaml", "--write-baseline", "b.json"]);
    let run = topolint(
        dir,
        &[
            "t.topology.yaml",
            "--baseline",
            "b.json",
            "--select",
            "S102",
        ],
    );
    assert_eq!(run.code, Some(0));
    assert!(!run.stderr.contains("no longer"), "{}", run.stderr);
}

#[test]
fn loading_problems_are_never_baselined() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, TOPOLOGY);
    topolint(dir, &["t.topology.yaml", "--write-baseline", "b.json"]);
    // A broken topology: the T code is reported and exits 2; no entry is called stale, since no
    // rule ran.
    write(dir, &TOPOLOGY.replace("to: pay", "to: nowhere"));
    let run = with_baseline(dir);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.contains("T003"), "{}", run.stdout);
    assert!(!run.stderr.contains("no longer"), "{}", run.stderr);
    // And such a topology writes no baseline.
    let run = topolint(dir, &["t.topology.yaml", "--write-baseline", "new.json"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("did not write the baseline"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("new.json").exists());
}

#[test]
fn a_missing_or_broken_baseline_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, TOPOLOGY);
    let run = with_baseline(dir);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("topolint: error: cannot read the baseline b.json"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    std::fs::write(dir.join("b.json"), "{\"version\": 7, \"findings\": []}").unwrap();
    let run = with_baseline(dir);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("version 7 is not supported"),
        "{}",
        run.stderr
    );
}
