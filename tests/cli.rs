//! The command line as users drive it: exit codes, settings, selection and the formats.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn topolint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const CLEAN: &str = "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: api, timeout: 500ms, circuit_breaker: true }]
  api: {}
";

/// One warning (S103: no breaker) and nothing else.
const WARNING_ONLY: &str = "topolint: 1
services:
  web:
    calls: [{ to: api, timeout: 500ms }]
  api: {}
";

/// One error (S102) and one warning-free call.
const ERROR: &str = "topolint: 1
services:
  web:
    calls: [{ to: api }]
  api: {}
";

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn exit_codes_follow_fail_on() {
    let dir = project(&[
        ("clean.topology.yaml", CLEAN),
        ("warn/w.topology.yaml", WARNING_ONLY),
        ("err/e.topology.yaml", ERROR),
    ]);
    let d = dir.path();
    assert_eq!(code(&topolint(d, &["check", "clean.topology.yaml"])), 0);
    // Default fail-on is error: a warning passes, an error fails.
    assert_eq!(code(&topolint(d, &["check", "warn"])), 0);
    assert_eq!(code(&topolint(d, &["check", "err"])), 1);
    assert_eq!(
        code(&topolint(d, &["check", "warn", "--fail-on", "warning"])),
        1
    );
    assert_eq!(
        code(&topolint(d, &["check", "err", "--fail-on", "never"])),
        0
    );
    // Load errors are 2 whatever fail-on says, and the diagnostics are still printed.
    std::fs::write(
        d.join("bad.topology.yaml"),
        "topolint: 1\nservices: { web: { calls: [{ to: nowhere }] } }\n",
    )
    .unwrap();
    let out = topolint(
        d,
        &[
            "check",
            "bad.topology.yaml",
            "--fail-on",
            "never",
            "--format",
            "concise",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).contains("T003"), "{}", stdout(&out));
    // Unreadable paths and bad flags are 2 with a one-line error.
    let out = topolint(d, &["check", "missing.yaml"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("topolint: error: "));
    let empty = tempfile::tempdir().unwrap();
    let out = topolint(empty.path(), &["check"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no topology files found"));
}

#[test]
fn directories_are_searched_and_merged_into_one_topology() {
    let dir = project(&[
        (
            "a/web.topology.yaml",
            "topolint: 1\nservices:\n  web:\n    calls: [{ to: api, timeout: 1s, circuit_breaker: true }]\n",
        ),
        ("b/topology.yaml", "topolint: 1\nservices:\n  api: {}\n"),
        ("b/notes.yaml", "not: a topology\n"),
        (".hidden/x.topology.yaml", "garbage: [\n"),
    ]);
    let out = topolint(dir.path(), &["check", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["files"], 2);
}

#[test]
fn select_ignore_and_config_file() {
    let dir = project(&[("t.topology.yaml", WARNING_ONLY)]);
    let d = dir.path();
    let concise = |args: &[&str]| {
        stdout(&topolint(
            d,
            &[&["check", "--format", "concise"], args].concat(),
        ))
    };
    assert!(concise(&[]).contains("S103"));
    assert!(!concise(&["--ignore", "missing-circuit-breaker"]).contains("S103"));
    assert!(!concise(&["--select", "A"]).contains("S103"));
    assert!(concise(&["--select", "S1"]).contains("S103"));
    // The config is found upward from the working directory.
    std::fs::write(
        d.join("topolint.toml"),
        "[lint]\nfail-on = \"warning\"\n[lint.severity]\nS103 = \"error\"\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let out = topolint(
        &d.join("sub"),
        &["check", "../t.topology.yaml", "--format", "concise"],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("error[S103 missing-circuit-breaker]"),
        "{}",
        stdout(&out)
    );
    // A bad setting is exit 2 with a suggestion.
    std::fs::write(d.join("topolint.toml"), "[lint]\nignor = [\"S103\"]\n").unwrap();
    let out = topolint(d, &["check", "t.topology.yaml"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `ignore`"));
    let out = topolint(
        d,
        &[
            "check",
            "t.topology.yaml",
            "--config",
            "/nonexistent/topolint.toml",
        ],
    );
    assert_eq!(code(&out), 2);
    std::fs::remove_file(d.join("topolint.toml")).unwrap();
    let out = topolint(
        d,
        &[
            "check",
            "t.topology.yaml",
            "--select",
            "missing-circuit-braker",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean `missing-circuit-breaker`")
    );
}

#[test]
fn json_report_has_the_documented_shape() {
    let dir = project(&[("t.topology.yaml", ERROR)]);
    let out = topolint(dir.path(), &["check", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["tool"]["name"], "topolint");
    assert_eq!(json["summary"]["errors"], 1);
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "S102");
    assert_eq!(d["name"], "missing-timeout");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "t.topology.yaml");
    assert_eq!(d["path"], "services.web.calls[0]");
    assert_eq!(d["span"]["line"], 4);
    assert_eq!(d["span"]["column"], 13);
    assert_eq!(d["span"]["end_line"], 4);
    assert_eq!(d["span"]["end_column"], 24); // exclusive, like SARIF
    assert_eq!(
        &ERROR[d["span"]["start"].as_u64().unwrap() as usize
            ..d["span"]["end"].as_u64().unwrap() as usize],
        "{ to: api }"
    );
    assert!(d["help"].as_str().unwrap().contains("timeout:"));
}

#[test]
fn suppressed_findings_are_listed_with_reasons() {
    let text = format!(
        "{ERROR}allow:\n  - rule: S102\n    at: services.web\n    reason: the client library times out by itself\n"
    );
    let dir = project(&[("t.topology.yaml", &text)]);
    let out = topolint(dir.path(), &["check", "--format", "json"]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["diagnostics"].as_array().unwrap().len(), 0);
    assert_eq!(json["suppressed"][0]["code"], "S102");
    assert_eq!(
        json["suppressed"][0]["reason"],
        "the client library times out by itself"
    );
}

#[test]
fn human_output_is_plain_when_not_a_terminal_and_ends_with_a_summary() {
    let dir = project(&[("t.topology.yaml", ERROR)]);
    let out = topolint(dir.path(), &["check"]);
    let text = stdout(&out);
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes when stdout is a pipe"
    );
    assert!(text.contains("error[S102 missing-timeout]"));
    assert!(text.contains("t.topology.yaml:4:13"));
    // The file's text, set aside while the rules ran, is back for the source lines.
    assert!(text.contains("4 │     calls: [{ to: api }]"), "{text}");
    assert!(text.trim_end().ends_with("1 error in 1 file"), "{text}");
    let quiet = stdout(&topolint(dir.path(), &["check", "--quiet"]));
    assert!(!quiet.contains("1 error in 1 file"));
    assert!(quiet.contains("S102"));
    let concise = stdout(&topolint(dir.path(), &["check", "--format", "concise"]));
    assert_eq!(
        concise,
        "t.topology.yaml:4:13: error[S102 missing-timeout] call from web to api has no timeout\n"
    );
}

#[test]
fn completions_and_help_work() {
    let d = tempfile::tempdir().unwrap();
    let out = topolint(d.path(), &["completions", "bash"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("topolint"));
    assert_eq!(code(&topolint(d.path(), &["check", "--help"])), 0);
}
