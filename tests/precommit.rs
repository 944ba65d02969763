//! The pre-commit hook, driven by the real `pre-commit` (from PyPI): `pre-commit try-repo` on
//! this repository, in a temporary git repository, fails on a topology with an error and shows
//! the diagnostic, passes on a clean one, and skips files that are not topologies.
//!
//! try-repo clones this repository at its last commit and builds topolint with `cargo install`,
//! so it tests committed code. Each try-repo builds in a fresh clone; the builds share one cargo
//! target directory under `target/` (dependencies are built once) and skip optimisation, which
//! the hook's checks do not need, so each one after the first only compiles topolint itself, fast.

use std::path::Path;
use std::process::{Command, Output};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skips the test with the reason, or fails it in CI, where it must run.
fn unavailable(why: &str) {
    assert!(!in_ci(), "{why}; CI must run this test");
    eprintln!("SKIPPED the pre-commit hook test: {why}");
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const BAD: &str = "topolint: 1
services:
  web:
    calls:
      - { to: api, circuit_breaker: true }
  api: {}
";

const CLEAN: &str = "topolint: 1
services:
  web:
    calls:
      - { to: api, timeout: 200ms, circuit_breaker: true }
  api: {}
";

#[test]
fn the_hook_fails_on_an_error_passes_on_a_clean_topology_and_skips_other_files() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let version = Command::new("pre-commit").arg("--version").output();
    if !version.as_ref().is_ok_and(|o| o.status.success()) {
        return unavailable("`pre-commit` is not installed (`pip install pre-commit`)");
    }
    let head = Command::new("git")
        .current_dir(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    if !head.status.success() {
        return unavailable("this crate is not in a git repository, which try-repo needs");
    }
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    let committed = Command::new("git")
        .current_dir(repo)
        .args(["cat-file", "-e", &format!("{head}:.pre-commit-hooks.yaml")])
        .status()
        .unwrap();
    assert!(
        committed.success(),
        ".pre-commit-hooks.yaml is not committed"
    );

    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    git(work, &["init", "-q"]);
    std::fs::write(work.join("bad.topology.yaml"), BAD).unwrap();
    std::fs::create_dir(work.join("ok")).unwrap();
    std::fs::write(work.join("ok/topology.yml"), CLEAN).unwrap();
    std::fs::write(work.join("notes.yaml"), BAD).unwrap();
    git(work, &["add", "."]);

    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-cargo-target");
    let try_repo_files = |files: &[&str]| {
        let started = std::time::Instant::now();
        let out = Command::new("pre-commit")
            .current_dir(work)
            // The committed hook at HEAD (without `--ref`, try-repo would copy uncommitted
            // changes of the working tree too).
            .args([
                "try-repo",
                repo.to_str().unwrap(),
                "topolint",
                "--ref",
                &head,
            ])
            .arg("--files")
            .args(files)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .env("NO_COLOR", "1")
            .env_remove("PRE_COMMIT_HOME")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "pre-commit try-repo --files {files:?}: {:?} in {:.0?}",
            out.status.code(),
            started.elapsed()
        );
        (out.status.code(), text)
    };

    let (code, text) = try_repo_files(&["bad.topology.yaml"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("- exit code: 1"), "{text}");
    assert!(text.contains("S102 missing-timeout"), "{text}");
    assert!(
        text.contains("call from web to api has no timeout"),
        "{text}"
    );
    assert!(text.contains("bad.topology.yaml:5:"), "{text}");

    // The clean topology passes. `notes.yaml` is not named as a topology, so the hook does not
    // get it: linted with the other file, its problem and its duplicate names would fail the run.
    let (code, text) = try_repo_files(&["ok/topology.yml", "notes.yaml"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
}
