//! Hostile input: every case ends with a diagnostic or a one-line error and exit code 2, quickly,
//! without a panic, and with bounded memory (peak RSS of the child checked through getrusage).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `topolint check` on a file; returns (exit code, stdout, stderr).
fn run(path: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_topolint"))
        .arg("check")
        .arg(path)
        .args(["--format", "concise"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A guard against hangs, far above the expected time; not a speed test.
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{}: topolint hung", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    (
        code,
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Largest resident set of any child waited for so far, in MiB.
fn children_peak_mib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss / 1024
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One test, run in sequence, so that the peak RSS read after each case is that case's (or an
/// earlier one's) and no other test's.
#[test]
fn hostile_inputs_fail_cleanly_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let mut bomb = String::from("topolint: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    bomb.push_str("services: *a9\n");
    let mut cases: Vec<(&str, std::path::PathBuf, &str, Vec<&str>)> = vec![
        (
            "alias bomb",
            write(d, "bomb.yaml", bomb.as_bytes()),
            "alias",
            vec![],
        ),
        (
            "deep block nesting",
            write(
                d,
                "deep.yaml",
                {
                    let mut s = String::from("topolint: 1\nservices:\n");
                    for i in 0..100_000usize {
                        s.push_str(&" ".repeat((i + 1).min(2000)));
                        s.push_str("- \n");
                    }
                    s
                }
                .as_bytes(),
            ),
            "",
            vec![],
        ),
        (
            "deep flow nesting",
            write(
                d,
                "flow.yaml",
                format!(
                    "topolint: 1\nservices: {}{}\n",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                )
                .as_bytes(),
            ),
            "T001 yaml-syntax",
            vec![],
        ),
        (
            "binary",
            write(
                d,
                "binary.yaml",
                &[0x7f, b'E', b'L', b'F', 0, 1, 2, 3, 0xff, 0xfe],
            ),
            "binary file",
            vec![],
        ),
        (
            "non-UTF-8",
            write(d, "latin1.yaml", b"topolint: 1\nsystem: caf\xe9\n"),
            "not valid UTF-8",
            vec![],
        ),
        ("empty", write(d, "empty.yaml", b""), "empty file", vec![]),
        (
            "only a comment",
            write(d, "comment.yaml", b"# nothing here\n"),
            "empty file",
            vec![],
        ),
        (
            "a scalar",
            write(d, "scalar.yaml", b"hello\n"),
            "expected the top level",
            vec![],
        ),
        (
            "two documents",
            write(d, "two.yaml", b"topolint: 1\n---\ntopolint: 1\n"),
            "second YAML document",
            vec![],
        ),
    ];
    // A 200 MB file, sparse so that the test itself stays cheap; rejected before it is read.
    let huge = d.join("huge.yaml");
    {
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(200 * 1024 * 1024).unwrap();
    }
    cases.push(("200 MB file", huge.clone(), "larger than the limit", vec![]));
    cases.push((
        "a limit raised by flag",
        write(
            d,
            "deep2.yaml",
            b"topolint: 1\nservices: [[[[[[[[]]]]]]]]\n",
        ),
        "nesting deeper than 4",
        vec!["--max-depth", "4"],
    ));

    cases.push((
        "node count over --max-nodes",
        write(
            d,
            "nodes.yaml",
            b"topolint: 1\nservices: { a: {}, b: {}, c: {} }\n",
        ),
        "3 nodes, over the limit of 2",
        vec!["--max-nodes", "2"],
    ));
    cases.push((
        "aliases over --max-alias-expansion",
        write(
            d,
            "alias.yaml",
            b"topolint: 1\nx: &x [1, 2, 3, 4, 5]\nservices: { a: {} }\ny: [*x, *x]\n",
        ),
        "aliases expand to more than 4",
        vec!["--max-alias-expansion", "4"],
    ));
    for (what, path, expect, extra) in &cases {
        let (code, stdout, stderr) = run(path, extra);
        assert_eq!(
            code, 2,
            "{what}: exit code {code}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
        assert!(
            stdout.contains(expect),
            "{what}: expected `{expect}` in:\n{stdout}{stderr}"
        );
        assert!(
            stdout.lines().all(|l| l.len() < 400),
            "{what}: a line too long to read"
        );
        let peak = children_peak_mib();
        assert!(peak < 256, "{what}: peak memory {peak} MiB");
    }

    // The huge file is accepted (and read) when the limit is raised past it: proof the limit is
    // the only thing that stopped it. It is NUL bytes, so it then fails as binary.
    let (code, stdout, _) = run(&huge, &["--max-file-size", "300"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("binary file"), "{stdout}");
    std::io::stdout().flush().unwrap();
}

#[test]
fn a_binary_file_is_named_by_its_first_nul_byte() {
    let mut long = b"topolint: 1\n".repeat(10_000);
    long[100_003] = 0;
    long[100_050] = 0;
    let cases: [(&[u8], Option<usize>); 5] = [
        (b"\0topolint: 1\n", Some(0)),
        (b"topolint: 1\n\0", Some(12)),
        (
            b"topolint: 1\nsystem: a-long-name-that-goes-past-32-bytes\0\0",
            Some(55),
        ),
        (&long, Some(100_003)),
        (b"topolint: 1\n", None),
    ];
    for (bytes, nul) in cases {
        let (_, problem) =
            topolint::load::from_bytes("f.yaml".into(), "f.yaml".into(), bytes.to_vec());
        match nul {
            Some(at) => {
                let (_, message) = problem.expect("a binary file");
                assert!(
                    message.starts_with(&format!("binary file (a NUL byte at offset {at})")),
                    "{message}"
                );
            }
            None => assert!(problem.is_none(), "{problem:?}"),
        }
    }
}
