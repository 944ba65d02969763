//! `cargo bench --bench scale`: load, graph, rule families, output formats and end to end on
//! synthetic topologies of 1k, 10k and 100k services, with peak memory, beside a bare
//! event-by-event parse of the same text with the same parser (the floor for any YAML tool).
//!
//! Sizes can be chosen: `cargo bench --bench scale -- 1000 10000`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use saphyr_parser::Parser;
use topolint::graph::Graph;
use topolint::lints::engine::{self, RuleConfig};
use topolint::load::{self, Limits};
use topolint::report::{self, Format, Report};
use topolint::source::Sources;

/// The fastest of `runs` timings of `f` (the least disturbed by the rest of the machine).
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("runs > 0"))
}

/// The fastest of `runs` timings of `f` and of `g`, run in turns: a load that only a second
/// process or the host causes falls on both alike, so their ratio stays meaningful on a shared
/// machine.
fn best_of_turns<A, B>(
    runs: usize,
    mut f: impl FnMut() -> A,
    mut g: impl FnMut() -> B,
) -> (Duration, Duration, B) {
    let (mut best_f, mut best_g, mut last) = (Duration::MAX, Duration::MAX, None);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(f());
        best_f = best_f.min(start.elapsed());
        // The previous value is dropped before timing the next one.
        drop(last.take());
        let start = Instant::now();
        let value = g();
        best_g = best_g.min(start.elapsed());
        last = Some(value);
    }
    (best_f, best_g, last.expect("runs > 0"))
}

fn bare_parse(text: &str) -> usize {
    let mut events = 0;
    for event in Parser::new_from_str(text) {
        event.expect("synthetic YAML parses");
        events += 1;
    }
    events
}

fn load_text(name: &str, text: &str) -> load::Loaded {
    let mut sources = Sources::default();
    let (file, _) = load::from_bytes(
        PathBuf::from(name),
        name.to_string(),
        text.as_bytes().to_vec(),
    );
    sources.add(file);
    load::load_sources(sources, &[], &Limits::default())
}

/// Runs `program args` through a freshly started copy of this binary that waits for it and
/// reports its peak RSS: a child inherits its parent's peak at fork, so measuring a direct child
/// of this (large) process would report this process's size.
fn measured(program: &Path, args: &[&std::ffi::OsStr]) -> (f64, f64) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--child", "measure"])
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// A run of this binary as `--child WHAT FILE`: (seconds, peak RSS in MB).
fn child(what: &str, file: &Path) -> (f64, f64) {
    let exe = std::env::current_exe().unwrap();
    measured(&exe, &["--child".as_ref(), what.as_ref(), file.as_os_str()])
}

/// `topolint check --format FORMAT FILE` from disk: (seconds, peak RSS in MB).
fn end_to_end(file: &Path, format: &str) -> (f64, f64) {
    let words = [
        "check",
        "--format",
        format,
        "--output",
        "/dev/null",
        "--fail-on",
        "never",
    ];
    let args: Vec<&std::ffi::OsStr> = words
        .iter()
        .map(|a| a.as_ref())
        .chain([file.as_os_str()])
        .collect();
    measured(Path::new(env!("CARGO_BIN_EXE_topolint")), &args)
}

/// The intermediary: runs the command, waits with wait4, prints `seconds peak_mb`. Peaks are in
/// MB (10^6 bytes), like the file's size they are compared with: ru_maxrss counts KiB.
fn measure(program: &str, args: &[String]) {
    let start = Instant::now();
    // Reaped by wait4 below, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(program).args(args).spawn().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    println!(
        "{} {}",
        start.elapsed().as_secs_f64(),
        usage.ru_maxrss as f64 * 1024.0 / 1e6
    );
}

fn run_child(what: &str, file: &str) {
    // As the binary does.
    topolint::tune_allocator();
    match what {
        "parse" => {
            let text = std::fs::read_to_string(file).unwrap();
            std::hint::black_box(bare_parse(&text));
        }
        "load" => {
            // As the binary does: the file read once, by the loader.
            let loaded = load::load_paths(&[PathBuf::from(file)], &Limits::default()).unwrap();
            let graph = Graph::build(&loaded.model);
            std::hint::black_box((loaded.model.services.len(), graph.graph.edge_count()));
        }
        _ => unreachable!(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        match args[i + 1].as_str() {
            "measure" => measure(&args[i + 2], &args[i + 3..]),
            what => run_child(what, &args[i + 2]),
        }
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let dir = tempfile::tempdir().unwrap();

    println!("topolint scale benchmark (best of runs; peak = max RSS of a separate process)\n");
    println!(
        "{:>8} {:>8} {:>9} {:>9} {:>6} {:>8} {:>8} {:>7} {:>9} {:>9} {:>6} {:>9} {:>6} {:>9}",
        "services",
        "file MB",
        "parse ms",
        "load ms",
        "×parse",
        "graph ms",
        "lint ms",
        "%load",
        "parse MB",
        "load MB",
        "×file",
        "e2e ms",
        "×parse",
        "e2e MB"
    );
    let mut detail = Vec::new();
    for &n in &sizes {
        let text = topolint::synth::topology(n, 42);
        let file = dir.path().join(format!("synthetic-{n}.topology.yaml"));
        std::fs::write(&file, &text).unwrap();
        let mb = text.len() as f64 / 1e6;
        let runs = 5;

        let (parse, load_time, loaded) = best_of_turns(
            runs,
            || bare_parse(&text),
            || load_text("synthetic.topology.yaml", &text),
        );
        assert!(!loaded.has_errors(), "synthetic topology has load errors");
        let (graph_time, graph) = best(runs, || Graph::build(&loaded.model));
        let config = RuleConfig::default();
        let (lint_time, outcome) = best(runs, || engine::lint(&loaded.model, &graph, &config));

        let mut families = Vec::new();
        for family in ["S", "A", "C", "D", "L"] {
            let only = RuleConfig {
                enabled: topolint::config::resolve_selector(family)
                    .unwrap()
                    .into_iter()
                    .collect(),
                ..RuleConfig::default()
            };
            let (t, _) = best(runs, || engine::lint(&loaded.model, &graph, &only));
            families.push(format!("{family}: {:.1} ms", t.as_secs_f64() * 1e3));
        }
        let report = Report {
            sources: &loaded.sources,
            diagnostics: &outcome.diagnostics,
            suppressed: &outcome.suppressed,
        };
        let mut formats = Vec::new();
        for format in [Format::Human, Format::Concise, Format::Json, Format::Github] {
            let (t, out) = best(runs.min(3), || report::render(format, &report, false));
            formats.push(format!(
                "{format:?}: {:.1} ms ({} KB)",
                t.as_secs_f64() * 1e3,
                out.len() / 1024
            ));
        }

        // Fresh processes, in turns: the parse and the load as a user's run meets them (the file
        // read from disk, memory fresh from the system); time the best, peak the largest.
        let (mut fresh_parse, mut fresh_load) = (f64::MAX, f64::MAX);
        let (mut parse_peak, mut load_peak) = (0.0f64, 0.0f64);
        for _ in 0..3 {
            let (t, peak) = child("parse", &file);
            (fresh_parse, parse_peak) = (fresh_parse.min(t), parse_peak.max(peak));
            let (t, peak) = child("load", &file);
            (fresh_load, load_peak) = (fresh_load.min(t), load_peak.max(peak));
        }
        // JSON and the human report (the default), in turns.
        let (mut e2e, mut e2e_peak) = (f64::MAX, 0.0f64);
        let (mut human, mut human_peak) = (f64::MAX, 0.0f64);
        for _ in 0..runs.min(3) {
            let (t, peak) = end_to_end(&file, "json");
            (e2e, e2e_peak) = (e2e.min(t), e2e_peak.max(peak));
            let (t, peak) = end_to_end(&file, "human");
            (human, human_peak) = (human.min(t), human_peak.max(peak));
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:>8} {:>8.1} {:>9.1} {:>9.1} {:>6.2} {:>8.1} {:>8.1} {:>6.1}% {:>9.1} {:>9.1} {:>6.2} {:>9.1} {:>6.2} {:>9.1}",
            n,
            mb,
            ms(parse),
            ms(load_time),
            load_time.as_secs_f64() / parse.as_secs_f64(),
            ms(graph_time),
            ms(lint_time),
            100.0 * lint_time.as_secs_f64() / load_time.as_secs_f64(),
            parse_peak,
            load_peak,
            load_peak / mb,
            e2e * 1e3,
            e2e / parse.as_secs_f64(),
            e2e_peak,
        );
        detail.push(format!(
            "{n} services: fresh processes, file read included: parse {:.1} ms, load and graph {:.1} ms (×{:.2}), e2e ×{:.2}; e2e of the human report (the default) {:.1} ms, ×{:.2} the parse in the table, ×{:.2} the fresh parse, peak {:.1} MB (×{:.2} the file); {} findings; rule families {}; formats {}",
            fresh_parse * 1e3,
            fresh_load * 1e3,
            fresh_load / fresh_parse,
            e2e / fresh_parse,
            human * 1e3,
            human / parse.as_secs_f64(),
            human / fresh_parse,
            human_peak,
            human_peak / mb,
            outcome.diagnostics.len(),
            families.join(", "),
            formats.join(", ")
        ));
    }
    println!();
    for line in detail {
        println!("{line}");
    }
    println!(
        "\n×parse: time over the bare event parse of the same text; ×file: peak MB over the file's MB."
    );
    println!(
        "e2e: the release binary, `check --format json` (the detail lines add the human report), reading the file from disk."
    );
}
