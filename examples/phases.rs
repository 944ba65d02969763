//! Times the load phases and rules of one file: `cargo run --release --example phases -- FILE`.
//! Modes after the file: `--load-only`, `--check-memory`, `--load-ratio`, `--lint-only`,
//! `--rules [CODE]` (benches/README.md says what each measures).

use std::time::Instant;

use topolint::load::{self, Limits};
use topolint::source::{FileId, SourceFile};

fn main() {
    topolint::tune_allocator();
    let path = std::env::args().nth(1).expect("a file");
    if std::env::args().nth(2).as_deref() == Some("--load-only") {
        let mut loaded = load::load_paths(&[path.into()], &Limits::default()).unwrap();
        memory("loaded");
        let graph = loaded.build_graph();
        memory("graph built");
        println!(
            "{} services, {} edges",
            loaded.model.services.len(),
            graph.graph.edge_count()
        );
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("--check-memory") {
        // What `check --format json` holds after each of its steps (it frees the text first).
        let mut loaded = load::load_paths(&[path.into()], &Limits::default()).unwrap();
        memory("loaded");
        for file in &mut loaded.sources.files {
            file.release_text();
        }
        memory("text freed");
        let analysis = topolint::analyze(loaded, &Default::default());
        memory("analysed (graph, rules)");
        let report = topolint::report::Report {
            sources: &analysis.loaded.sources,
            diagnostics: &analysis.diagnostics,
            suppressed: &analysis.suppressed,
        };
        let text = topolint::report::render(topolint::report::Format::Json, &report, false);
        memory("rendered");
        println!(
            "{} findings, {} bytes of JSON",
            analysis.diagnostics.len(),
            text.len()
        );
        std::mem::forget(analysis);
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("--load-ratio") {
        // Best of five: bare parse, decode (piped), and the whole load from text.
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(path.clone().into(), path.clone(), text.clone());
        let best = |f: &mut dyn FnMut()| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let parse = best(&mut || {
            for e in saphyr_parser::Parser::new_from_str(&text) {
                e.unwrap();
            }
        });
        let decode = best(&mut || {
            std::hint::black_box(load::parse_document(
                &file,
                FileId::new(0),
                &Limits::default(),
            ));
        });
        let all = best(&mut || {
            let mut sources = topolint::source::Sources::default();
            sources.add(SourceFile::new(
                path.clone().into(),
                path.clone(),
                text.clone(),
            ));
            std::hint::black_box(load::load_sources(sources, &[], &Limits::default()));
        });
        println!(
            "parse {parse:.1} ms, decode {decode:.1} ms (×{:.2}), load {all:.1} ms (×{:.2})",
            decode / parse,
            all / parse
        );
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("--rules") {
        // Each rule's own work, best of five: the analyses the rules share are computed first
        // (and timed), so that no rule is charged for them.
        let loaded = load::load_paths(&[path.into()], &Limits::default()).unwrap();
        let graph = topolint::graph::Graph::build(&loaded.model);
        let settings = Default::default();
        let cx = topolint::lints::Context::new(&loaded.model, &graph, &settings);
        let timed = |what: &str, f: &dyn Fn()| {
            let t = Instant::now();
            f();
            println!("{what:<14} {:>6.1} ms", t.elapsed().as_secs_f64() * 1e3);
        };
        timed("sync analysis", &|| {
            cx.sync();
        });
        timed("call facts", &|| {
            cx.call_facts();
        });
        timed("message flows", &|| {
            cx.message_flows();
        });
        // `--rules S105`: that rule alone, twenty times (for a profiler).
        let only = std::env::args().nth(3);
        let runs = if only.is_some() { 20 } else { 5 };
        let mut total = 0.0;
        for rule in topolint::lints::RULES.iter() {
            let Some(check) = rule.check else { continue };
            if only.as_deref().is_some_and(|code| code != rule.meta.code) {
                continue;
            }
            let mut best = f64::MAX;
            for _ in 0..runs {
                let mut found = Vec::new();
                let t = Instant::now();
                check(&cx, &mut found);
                topolint::lints::identity::fill(&loaded.model, &mut found);
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
            }
            total += best;
            println!("  {} {best:>8.1} ms", rule.meta.code);
        }
        println!("rules, in all {total:>6.1} ms");
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("--lint-only") {
        // For a profiler: load once, then lint five times.
        let loaded = load::load_paths(&[path.into()], &Limits::default()).unwrap();
        let graph = topolint::graph::Graph::build(&loaded.model);
        for _ in 0..3 {
            lint_all(&loaded, &graph);
        }
        for _ in 0..3 {
            let t = Instant::now();
            topolint::lints::engine::lint_on(&loaded.model, &graph, &Default::default(), 1);
            println!("lint, 1 thread {:>6.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let t = Instant::now();
    let file = SourceFile::new(path.clone().into(), path.clone(), text);
    println!("line index   {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let (doc, diags) = load::parse_document(&file, FileId::new(0), &Limits::default());
    println!(
        "decode       {:>8.1} ms ({} diagnostics)",
        t.elapsed().as_secs_f64() * 1e3,
        diags.len()
    );
    let t = Instant::now();
    let mut sources = topolint::source::Sources::default();
    sources.add(file);
    let mut loaded = load::load_sources(sources, &[], &Limits::default());
    println!("load (all)   {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    drop(doc);
    let t = Instant::now();
    let graph = loaded.build_graph();
    println!("graph        {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    lint_all(&loaded, &graph);
    for rule in topolint::lints::RULES.iter().filter(|r| r.check.is_some()) {
        let config = topolint::lints::engine::RuleConfig {
            enabled: [rule.meta.code].into_iter().collect(),
            ..Default::default()
        };
        // Best of three: the machine is shared.
        let mut best = f64::MAX;
        let mut findings = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let o = topolint::lints::engine::lint(&loaded.model, &graph, &config);
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
            findings = o.diagnostics.len();
        }
        println!("  {} {best:>8.1} ms {findings:>7} findings", rule.meta.code);
    }
    let mut best_parse = f64::MAX;
    let mut best_decode = f64::MAX;
    let mut best_reader = f64::MAX;
    let mut best_piped = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(load::drain_events(
            &loaded.sources.files[0],
            &Limits::default(),
        ));
        best_reader = best_reader.min(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for e in saphyr_parser::Parser::new_from_str(&loaded.sources.files[0].text) {
            e.unwrap();
        }
        best_parse = best_parse.min(t.elapsed().as_secs_f64() * 1e3);
        let decode = |piped| {
            let t = Instant::now();
            let r = load::parse_document_with(
                &loaded.sources.files[0],
                FileId::new(0),
                &Limits::default(),
                piped,
            );
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(r);
            ms
        };
        best_decode = best_decode.min(decode(false));
        best_piped = best_piped.min(decode(true));
    }
    println!(
        "best of 3: parse {best_parse:.1} ms, reader {best_reader:.1} ms, decode {best_decode:.1} ms (×{:.2}), piped {best_piped:.1} ms (×{:.2})",
        best_decode / best_parse,
        best_piped / best_parse
    );
    let t = Instant::now();
    let mut n = 0;
    for e in saphyr_parser::Parser::new_from_str(&loaded.sources.files[0].text) {
        e.unwrap();
        n += 1;
    }
    println!(
        "bare parse   {:>8.1} ms ({n} events)",
        t.elapsed().as_secs_f64() * 1e3
    );
}

/// Lints with every rule and prints the time and the number of findings.
fn lint_all(loaded: &load::Loaded, graph: &topolint::graph::Graph) {
    let t = Instant::now();
    let outcome = topolint::lints::engine::lint(&loaded.model, graph, &Default::default());
    println!(
        "lint         {:>8.1} ms ({} findings)",
        t.elapsed().as_secs_f64() * 1e3,
        outcome.diagnostics.len()
    );
}

/// Prints the current and peak resident memory (Linux).
fn memory(at: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    // glibc's view: bytes in use, free inside the heap (fragments), and in mmap'd blocks.
    let info = unsafe { libc::mallinfo2() };
    let mib = |b: usize| b as f64 / 1048576.0;
    println!(
        "{at}: resident {:.1} MiB, peak {:.1} MiB; malloc in use {:.1}, free in heap {:.1}, mmap {:.1} MiB, arenas {:.1}",
        field("VmRSS:"),
        field("VmHWM:"),
        mib(info.uordblks + info.hblkhd),
        mib(info.fordblks),
        mib(info.hblkhd),
        mib(info.arena),
    );
}
