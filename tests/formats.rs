//! Every output format carries the same findings at the same positions; the GitHub workflow
//! commands; exit codes and `--fail-on` in every format; `--output` and `--statistics`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use topolint::report::sarif::SourceRoot;
use topolint::report::{self, Format, Report};

const FORMATS: [&str; 5] = ["human", "concise", "json", "sarif", "github"];

/// A finding as every format can tell it: file, start and end, code, severity, message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    file: String,
    line: u64,
    column: u64,
    end: Option<(u64, u64)>,
    code: String,
    severity: String,
    message: String,
}

/// `path:line:col: severity[CODE name] message`
fn from_concise(text: &str) -> Vec<Finding> {
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(4, ':');
            let file = parts.next().unwrap().to_string();
            let line_no = parts.next().unwrap().parse().unwrap();
            let column = parts.next().unwrap().parse().unwrap();
            let rest = parts.next().unwrap().trim_start();
            let (severity, rest) = rest.split_once('[').unwrap();
            let (rule, message) = rest.split_once("] ").unwrap();
            Finding {
                file,
                line: line_no,
                column,
                end: None,
                code: rule.split(' ').next().unwrap().to_string(),
                severity: severity.to_string(),
                message: message.to_string(),
            }
        })
        .collect()
}

fn from_json(text: &str) -> Vec<Finding> {
    let json: Value = serde_json::from_str(text).unwrap();
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Finding {
            file: d["file"].as_str().unwrap().to_string(),
            line: d["span"]["line"].as_u64().unwrap(),
            column: d["span"]["column"].as_u64().unwrap(),
            end: Some((
                d["span"]["end_line"].as_u64().unwrap(),
                d["span"]["end_column"].as_u64().unwrap(),
            )),
            code: d["code"].as_str().unwrap().to_string(),
            severity: d["severity"].as_str().unwrap().to_string(),
            message: d["message"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Results that are not suppressed; SARIF's messages are sentences with the help after them.
fn from_sarif(text: &str, names: &BTreeMap<String, String>) -> Vec<Finding> {
    let log: Value = serde_json::from_str(text).unwrap();
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_none())
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            let region = &location["region"];
            let uri = location["artifactLocation"]["uri"].as_str().unwrap();
            let message = r["message"]["text"].as_str().unwrap();
            let first = message.split("\n\n").next().unwrap();
            Finding {
                file: names[uri].clone(),
                line: region["startLine"].as_u64().unwrap(),
                column: region["startColumn"].as_u64().unwrap(),
                end: Some((
                    region["endLine"].as_u64().unwrap(),
                    region["endColumn"].as_u64().unwrap(),
                )),
                code: r["ruleId"].as_str().unwrap().to_string(),
                severity: match r["level"].as_str().unwrap() {
                    "note" => "info".to_string(),
                    other => other.to_string(),
                },
                message: first.strip_suffix('.').unwrap_or(first).to_string(),
            }
        })
        .collect()
}

/// `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE name::message%0Ahelp`
fn from_github(text: &str, names: &BTreeMap<String, String>) -> Vec<Finding> {
    text.lines()
        .map(|line| {
            let rest = line.strip_prefix("::").unwrap();
            let (command, rest) = rest.split_once(' ').unwrap();
            let (properties, data) = rest.split_once("::").unwrap();
            let properties: BTreeMap<&str, &str> = properties
                .split(',')
                .map(|p| p.split_once('=').unwrap())
                .collect();
            let number = |key: &str| properties[key].parse::<u64>().unwrap();
            let message = data.split("%0A").next().unwrap().replace("%25", "%");
            Finding {
                file: names[properties["file"]].clone(),
                line: number("line"),
                column: number("col"),
                end: Some((number("endLine"), number("endColumn"))),
                code: properties["title"].split(' ').next().unwrap().to_string(),
                severity: match command {
                    "notice" => "info".to_string(),
                    other => other.to_string(),
                },
                message,
            }
        })
        .collect()
}

fn without_end(findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .map(|f| Finding {
            end: None,
            ..f.clone()
        })
        .collect()
}

#[test]
fn every_format_carries_the_same_findings_at_the_same_positions() {
    let repo = SourceRoot::at(&root());
    let mut compared = 0;
    for unit in common::fixture_units() {
        let analysis = check(&unit);
        let report = Report {
            sources: &analysis.loaded.sources,
            diagnostics: &analysis.diagnostics,
            suppressed: &analysis.suppressed,
        };
        // SARIF and GitHub name files from the repository root; map them back.
        let names: BTreeMap<String, String> = analysis
            .loaded
            .sources
            .files
            .iter()
            .map(|f| (repo.relative(f).unwrap(), f.name.clone()))
            .collect();
        let json = from_json(&report::render(Format::Json, &report, false));
        let concise = from_concise(&report::render(Format::Concise, &report, false));
        let sarif = from_sarif(
            &report::sarif::render_with_root(&report, &repo),
            &names
                .iter()
                .map(|(k, v)| (k.replace(' ', "%20"), v.clone()))
                .collect(),
        );
        let github = from_github(&report::github::render_with_root(&report, &repo), &names);
        let at = unit[0].display();
        assert_eq!(json.len(), analysis.diagnostics.len(), "{at}");
        assert_eq!(without_end(&json), concise, "{at}: concise");
        assert_eq!(json, sarif, "{at}: sarif");
        assert_eq!(json, github, "{at}: github");
        // The human report shows every finding: code and name, message, and the position.
        let human = report::render(Format::Human, &report, false);
        for f in &json {
            assert!(human.contains(&f.code), "{at}: human lacks {}", f.code);
            assert!(
                human.contains(&format!("{}:{}:{}", f.file, f.line, f.column)),
                "{at}: human lacks {}:{}:{}\n{human}",
                f.file,
                f.line,
                f.column
            );
        }
        compared += json.len();
    }
    assert!(compared > 50, "compared only {compared} findings");
}

#[test]
fn columns_count_characters_in_every_format() {
    // `é` and `→` are one column each, though two and three bytes.
    let analysis = check_text(
        "topolint: 1\nservices:\n  web: { description: \"café → shop\", calls: [{ to: api }] }\n  api: {}\n",
    );
    assert!(analysis.diagnostics.iter().any(|d| d.code == "S102"));
    let line = "  web: { description: \"café → shop\", calls: [{ to: api }] }";
    let column = line[..line.find("{ to").unwrap()].chars().count() as u64 + 1;
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    let json = from_json(&report::render(Format::Json, &report, false));
    let s102 = json.iter().find(|f| f.code == "S102").unwrap();
    assert_eq!((s102.line, s102.column), (3, column));
    assert!(
        report::render(Format::Github, &report, false).contains(&format!("line=3,col={column},"))
    );
    let sarif: Value =
        serde_json::from_str(&report::render(Format::Sarif, &report, false)).unwrap();
    let region = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "S102")
        .unwrap()["locations"][0]["physicalLocation"]["region"]
        .clone();
    assert_eq!(region["startColumn"], column);
    assert_eq!(sarif["runs"][0]["columnKind"], "unicodeCodePoints");
}

fn topolint(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn github_commands_carry_file_position_and_title() {
    let out = topolint(
        &root(),
        &[
            "--format",
            "github",
            "fixtures/invalid/rules/S102-missing-timeout.topology.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(
            "::error file=fixtures/invalid/rules/S102-missing-timeout.topology.yaml,line=13,col=9,endLine=14,endColumn=30,title=S102 missing-timeout::call from web to api has no timeout%0Awithout a timeout"
        ),
        "{first}"
    );
    // One command a finding, each on one line: the help's newline is escaped.
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.starts_with("::error ")));

    // Warnings and infos, and names that need escaping; from a subdirectory, the file is still
    // named from the repository root, as GitHub matches annotations.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let sub = dir.path().join("a,b:c");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("t.topology.yaml"),
        "topolint: 1\nservices:\n  web:\n    calls: [{ to: api, timeout: 1s }]\n  api: {}\nallow:\n  - { rule: S102, at: services.api, reason: \"100% sure\" }\n",
    )
    .unwrap();
    let out = topolint(&sub, &["--format", "github", "--fail-on", "never"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::warning file=a%2Cb%3Ac/t.topology.yaml,line=4,col=13,endLine=4,endColumn=37,title=S103 missing-circuit-breaker::"
        )),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("::notice ")
            && l.contains("title=L001 unused-allow::")
            && l.contains("line=7,")),
        "{text}"
    );
}

#[test]
fn exit_codes_and_fail_on_are_the_same_in_every_format() {
    let cases: [(&str, &[&str], i32); 8] = [
        ("fixtures/examples/shop", &[], 1),
        ("fixtures/examples/shop", &["--fail-on", "never"], 0),
        ("fixtures/examples/small.topology.yaml", &[], 0),
        (
            "fixtures/examples/small.topology.yaml",
            &["--fail-on", "warning"],
            1,
        ),
        (
            "fixtures/valid/minimal.topology.yaml",
            &["--fail-on", "info"],
            0,
        ),
        (
            "fixtures/invalid/rules/L001-unused-allow.topology.yaml",
            &["--fail-on", "info"],
            1,
        ),
        (
            "fixtures/invalid/rules/L001-unused-allow.topology.yaml",
            &[],
            0,
        ),
        (
            "fixtures/invalid/T003-unknown-edge-target.topology.yaml",
            &["--fail-on", "never"],
            2,
        ),
    ];
    for (path, extra, expected) in cases {
        for format in FORMATS {
            let mut args = vec!["--format", format, path];
            args.extend_from_slice(extra);
            let out = topolint(&root(), &args);
            assert_eq!(
                out.status.code(),
                Some(expected),
                "{format} {path} {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Loading problems are still reported in the chosen format.
            if expected == 2 {
                assert!(
                    String::from_utf8_lossy(&out.stdout).contains("T003"),
                    "{format}"
                );
            }
        }
    }
}

#[test]
fn output_writes_the_same_report_to_a_file_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let shop = root().join("fixtures/examples/shop");
    let shop = shop.to_str().unwrap();
    for format in FORMATS {
        let printed = topolint(dir.path(), &["--format", format, shop]);
        let file = dir.path().join(format!("report.{format}"));
        // An old report is replaced whole.
        std::fs::write(&file, "stale ".repeat(100_000)).unwrap();
        let written = topolint(
            dir.path(),
            &["--format", format, "--output", file.to_str().unwrap(), shop],
        );
        assert_eq!(written.status.code(), printed.status.code(), "{format}");
        assert_eq!(written.stdout, b"", "{format}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, String::from_utf8(printed.stdout).unwrap(), "{format}");
        assert!(text.contains("S102"), "{format}");
    }
    // Nothing but the reports is left behind (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "report.concise",
            "report.github",
            "report.human",
            "report.json",
            "report.sarif"
        ]
    );
    // A report that cannot be written is a one-line error, exit 2.
    let out = topolint(dir.path(), &["--output", "no/such/dir/report.txt", shop]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

/// `--output` to something that is not a regular file writes into it: a named pipe gets the
/// report and stays a pipe (replacing it by a rename once turned `/dev/null` into a file).
/// Through a symbolic link, the file it points to is replaced and the link stays.
#[cfg(unix)]
#[test]
fn output_writes_into_pipes_and_through_links() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let shop = root().join("fixtures/examples/shop");
    let shop = shop.to_str().unwrap();
    let printed = topolint(dir.path(), &["--format", "json", shop]);

    let pipe = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(pipe.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || {
            let mut text = Vec::new();
            std::fs::File::open(pipe)
                .unwrap()
                .read_to_end(&mut text)
                .unwrap();
            text
        })
    };
    let written = topolint(
        dir.path(),
        &["--format", "json", "--output", pipe.to_str().unwrap(), shop],
    );
    assert_eq!(written.status.code(), printed.status.code());
    // Checked first: had the pipe been replaced, the reader would wait on it for ever.
    assert!(std::fs::metadata(&pipe).unwrap().file_type().is_fifo());
    assert_eq!(reader.join().unwrap(), printed.stdout);

    let target = dir.path().join("report.json");
    std::fs::write(&target, "stale").unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    topolint(
        dir.path(),
        &["--format", "json", "--output", link.to_str().unwrap(), shop],
    );
    assert!(link.is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), printed.stdout);
}

#[test]
fn statistics_count_findings_per_rule() {
    let shop = root().join("fixtures/examples/shop");
    let shop = shop.to_str().unwrap();
    let json = topolint(&root(), &["--format", "json", shop]);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for f in from_json(&String::from_utf8(json.stdout).unwrap()) {
        *expected.entry(f.code).or_default() += 1;
    }
    let out = topolint(&root(), &["--format", "concise", "--statistics", shop]);
    let text = String::from_utf8(out.stdout).unwrap();
    // The counts follow the findings: `  N  CODE  name`, most frequent first.
    let counts: Vec<(usize, String, String)> = text
        .lines()
        .filter(|l| !l.contains(": "))
        .map(|l| {
            let mut parts = l.split_whitespace();
            (
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(counts.len(), expected.len(), "{text}");
    for (n, code, name) in &counts {
        assert_eq!(expected[code], *n, "{code}");
        assert_eq!(topolint::lints::find(code).unwrap().meta.name, name);
    }
    assert!(counts.windows(2).all(|w| w[0].0 >= w[1].0));

    // In machine-read formats the counts go to standard error, and the output still parses.
    for format in ["json", "sarif"] {
        let out = topolint(&root(), &["--format", format, "--statistics", shop]);
        assert!(
            serde_json::from_slice::<Value>(&out.stdout).is_ok(),
            "{format}"
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), expected.len(), "{format}: {stderr}");
    }
}
