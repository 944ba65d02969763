//! `cargo bench --bench scale`: load, graph, rule families, output formats and end to end on
//! synthetic topologies of 1k, 10k and 100k services, with peak memory, beside a bare
//! event-by-event parse of the same text with the same parser (the floor for any YAML tool).
//!
//! Sizes and rounds can be chosen: `cargo bench --bench scale -- 1000 10000 --rounds 9`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use saphyr_parser::Parser;
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

/// The median of some figures (the mean of the middle two for an even count).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Ratios of figures taken in the same round, `a[i] / b[i]`: a slow spell of the shared machine
/// falls on both sides of each, where the ratio of two bests can pair a quick spell with a slow
/// one.
fn paired(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// `median (lowest–highest)` of paired ratios, as a factor or (with `percent`) in per cent.
fn spread(ratios: &[f64], percent: bool) -> String {
    let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
    let hi = ratios.iter().copied().fold(f64::MIN, f64::max);
    let m = median(ratios.to_vec());
    if percent {
        format!("{:.1}% ({:.1}–{:.1}%)", 100.0 * m, 100.0 * lo, 100.0 * hi)
    } else {
        format!("×{m:.2} (×{lo:.2}–{hi:.2})")
    }
}

fn lowest(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::MAX, f64::min)
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
            let mut loaded = load::load_paths(&[PathBuf::from(file)], &Limits::default()).unwrap();
            let graph = loaded.build_graph();
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
    // `--rounds N` (5 unless given): more rounds, steadier bests on a busy machine.
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    let sizes: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|&(i, _)| i == 0 || args[i - 1] != "--rounds")
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let dir = tempfile::tempdir().unwrap();

    println!("topolint scale benchmark (rounds; peak = max RSS of a separate process)\n");
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
        let runs = rounds;

        // In rounds: each round parses, loads, builds the graph and lints, one after the other,
        // so that each round's ratios (lint over load, load over parse) are taken within one
        // spell of the machine. The table gives the best of each and the median of the rounds'
        // ratios.
        let (mut parses, mut loads, mut graphs, mut lints) = (vec![], vec![], vec![], vec![]);
        let mut last = None;
        for _ in 0..runs {
            let start = Instant::now();
            std::hint::black_box(bare_parse(&text));
            parses.push(start.elapsed().as_secs_f64());
            // The previous round's model is freed before timing the next.
            drop(last.take());
            let start = Instant::now();
            let mut loaded = load_text("synthetic.topology.yaml", &text);
            loads.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            let graph = loaded.build_graph();
            graphs.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            let outcome = engine::lint(&loaded.model, &graph, &RuleConfig::default());
            lints.push(start.elapsed().as_secs_f64());
            last = Some((loaded, graph, outcome));
        }
        let (loaded, graph, outcome) = last.expect("runs > 0");
        assert!(!loaded.has_errors(), "synthetic topology has load errors");
        let (parse, load_time) = (lowest(&parses), lowest(&loads));
        let (load_ratios, lint_ratios) = (paired(&loads, &parses), paired(&lints, &loads));

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

        // Fresh processes, in rounds: the parse and the load as a user's run meets them (the file
        // read from disk, memory fresh from the system), then `check` with JSON and with the
        // human report (the default). Times are the best of each; peaks the largest; each
        // round's end-to-end runs are divided by that round's parse.
        let (mut fresh_parses, mut fresh_loads, mut jsons, mut humans) =
            (vec![], vec![], vec![], vec![]);
        let (mut parse_peak, mut load_peak, mut e2e_peak, mut human_peak) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for _ in 0..runs {
            let (t, peak) = child("parse", &file);
            fresh_parses.push(t);
            parse_peak = parse_peak.max(peak);
            let (t, peak) = child("load", &file);
            fresh_loads.push(t);
            load_peak = load_peak.max(peak);
            let (t, peak) = end_to_end(&file, "json");
            jsons.push(t);
            e2e_peak = e2e_peak.max(peak);
            let (t, peak) = end_to_end(&file, "human");
            humans.push(t);
            human_peak = human_peak.max(peak);
        }
        let (fresh_parse, fresh_load) = (lowest(&fresh_parses), lowest(&fresh_loads));
        let (e2e, human) = (lowest(&jsons), lowest(&humans));
        let json_ratios = paired(&jsons, &fresh_parses);
        let human_ratios = paired(&humans, &fresh_parses);
        let ms = |seconds: f64| seconds * 1e3;
        println!(
            "{:>8} {:>8.1} {:>9.1} {:>9.1} {:>6.2} {:>8.1} {:>8.1} {:>6.1}% {:>9.1} {:>9.1} {:>6.2} {:>9.1} {:>6.2} {:>9.1}",
            n,
            mb,
            ms(parse),
            ms(load_time),
            load_time / parse,
            ms(lowest(&graphs)),
            ms(lowest(&lints)),
            100.0 * lowest(&lints) / load_time,
            parse_peak,
            load_peak,
            load_peak / mb,
            ms(e2e),
            e2e / fresh_parse,
            e2e_peak,
        );
        detail.push(format!(
            "{n} services, each round's own ratios, median (lowest–highest) of {runs} rounds: in process, lint {} of the load, load {} the parse; fresh processes, file read included, over that round's parse: load and graph {}, JSON end to end {}, human report (the default) end to end {}.\n  Bests: fresh parse {:.1} ms, load and graph {:.1} ms, JSON {:.1} ms (×{:.2} the parse in the table), human {:.1} ms (×{:.2} the parse in the table), peak {:.1} MB (×{:.2} the file); {} findings; rule families {}; formats {}",
            spread(&lint_ratios, true),
            spread(&load_ratios, false),
            spread(&paired(&fresh_loads, &fresh_parses), false),
            spread(&json_ratios, false),
            spread(&human_ratios, false),
            ms(fresh_parse),
            ms(fresh_load),
            ms(e2e),
            e2e / parse,
            ms(human),
            human / parse,
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
        "\nTimes: the best of the rounds (a shared machine only adds to a time), the sides of each ratio taken in the same rounds: ×parse and %load in process (load over the bare event parse of the same text, lint over load), e2e ×parse over the bare parse in a fresh process, file read included. The detail lines add the median (lowest–highest) of the rounds' own ratios. ×file: peak MB over the file's MB."
    );
    println!(
        "e2e: the release binary, `check --format json` (the detail lines add the human report), reading the file from disk."
    );
}
