//! `cargo bench --bench lsp`: what `topolint lsp` does between a `didChange` and the diagnostics it
//! sends, on a workspace of 1,000 services (`synth::topology`) split into files of 100 services
//! and one file of channels, messages and datastores. Each run takes the changed text, re-lints
//! the whole topology (the changed file re-parsed, the others' parses reused, then merge, graph
//! and rules), converts the diagnostics and frames the `publishDiagnostics` messages as they go
//! on the wire. Prints the median and the maximum; the target is under 20 ms.
//!
//! Two edits: one that changes a diagnostic of the edited file only (a timeout removed and put
//! back), and one that breaks a reference and mends it, which makes every file's diagnostics
//! change (a T003 stops the rules) and so republishes them all.
//!
//! Options: `cargo bench --bench lsp -- [SERVICES] [RUNS]` (default 1000 and 50).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use lsp_server::Message;
use lsp_types as lsp;
use topolint::lsp::{Workspace, notifications, uri};

const BUDGET: Duration = Duration::from_millis(20);

/// Splits a synthetic topology into files of `per_file` services, each with the header (the
/// `defaults` apply per file), and one file with everything after the services.
fn split(text: &str, per_file: usize) -> Vec<(String, String)> {
    let (header, rest) = text
        .split_once("services:\n")
        .expect("synthetic topology has services");
    let (services, others) = rest
        .split_once("\nchannels:\n")
        .expect("synthetic topology has channels");
    let mut blocks: Vec<String> = Vec::new();
    for line in services.lines() {
        // A service starts at two spaces of indentation.
        if line.starts_with("  ") && !line.starts_with("   ") {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let mut files: Vec<(String, String)> = blocks
        .chunks(per_file)
        .enumerate()
        .map(|(i, chunk)| {
            (
                format!("services-{i:02}.topology.yaml"),
                format!("{header}services:\n{}", chunk.concat()),
            )
        })
        .collect();
    files.push((
        "platform.topology.yaml".to_string(),
        format!("topolint: 1\nchannels:\n{others}"),
    ));
    files
}

fn stats(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One change and everything the server does until the messages are framed: the number of
/// files published and of bytes written.
fn relint_after_change(
    ws: &mut Workspace,
    uri: &lsp::Uri,
    version: i32,
    text: &str,
) -> (usize, usize) {
    ws.change(
        uri,
        version,
        vec![lsp::TextDocumentContentChangeEvent {
            range: None,
            range_length: None,
            text: text.to_string(),
        }],
    );
    let published = ws.relint();
    let files = published.len();
    let mut wire = Vec::new();
    for n in notifications(published) {
        Message::Notification(n)
            .write(&mut wire)
            .expect("writing to memory");
    }
    (files, wire.len())
}

fn scenario(
    name: &str,
    ws: &mut Workspace,
    uri: &lsp::Uri,
    texts: [&str; 2],
    runs: usize,
    version: &mut i32,
) -> Duration {
    let mut times = Vec::with_capacity(runs);
    let mut published = (0, 0);
    for run in 0..runs {
        *version += 1;
        let start = Instant::now();
        let out = relint_after_change(ws, uri, *version, texts[run % 2]);
        times.push(start.elapsed());
        published.0 = published.0.max(out.0);
        published.1 = published.1.max(out.1);
    }
    let (median, max) = stats(times);
    println!(
        "{name:<44} median {:>7.2} ms   max {:>7.2} ms   ({} files, {} KiB published at most)",
        ms(median),
        ms(max),
        published.0,
        published.1 / 1024
    );
    median
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let services = args.next().unwrap_or(1000);
    let runs = args.next().unwrap_or(50).max(2);

    let dir = tempfile::tempdir().expect("temp dir");
    let root: PathBuf = dir.path().to_path_buf();
    let files = split(&topolint::synth::topology(services, 1), 100);
    for (name, text) in &files {
        std::fs::write(root.join(name), text).expect("temp dir is writable");
    }
    let start = Instant::now();
    let mut ws = Workspace::new(vec![root.clone()]);
    let first = ws.relint();
    let diagnostics: usize = first.iter().map(|p| p.diagnostics.len()).sum();
    println!(
        "{services} services in {} files, {} KiB; first lint (all files parsed): {:.2} ms, {diagnostics} diagnostics",
        files.len(),
        files.iter().map(|(_, t)| t.len()).sum::<usize>() / 1024,
        ms(start.elapsed())
    );

    // Edit a file in the middle of the list.
    let (name, text) = &files[files.len() / 2];
    let uri = lsp::Uri::from_str(&uri::from_path(&Path::new(&root).join(name))).expect("uri");
    let mut version = 1;
    ws.open(&uri, version, text.clone());
    ws.relint();

    let timeout = text
        .lines()
        .find(|l| l.trim_start().starts_with("timeout: "))
        .expect("a call with a timeout");
    let without_timeout = text.replacen(&format!("{timeout}\n"), "", 1);
    let call = text
        .lines()
        .find(|l| l.trim_start().starts_with("- to: "))
        .expect("a call");
    let broken = text.replacen(call, &format!("{call}x"), 1);

    let a = scenario(
        "remove a timeout, put it back",
        &mut ws,
        &uri,
        [&without_timeout, text],
        runs,
        &mut version,
    );
    let b = scenario(
        "break a reference, mend it (every file)",
        &mut ws,
        &uri,
        [&broken, text],
        runs,
        &mut version,
    );
    // Other work on the machine shows in the maximum; the load says how much there was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average while measuring: {}",
            load.split_whitespace().next().unwrap_or("?")
        );
    }
    let worst = a.max(b);
    println!(
        "re-lint after a change: median {:.2} ms, {} the {} ms target",
        ms(worst),
        if worst < BUDGET { "within" } else { "OVER" },
        BUDGET.as_millis()
    );
}
