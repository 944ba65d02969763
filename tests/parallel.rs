//! The places where topolint uses a second core give the same answers as one core does: parsing
//! on its own thread while the events are decoded, reading a large file in two parts at once, and
//! the rules spread over threads (large topologies).

mod common;

use topolint::graph::Graph;
use topolint::lints::engine::{self, RuleConfig};
use topolint::load::{self, Limits};
use topolint::source::{FileId, SourceFile, Sources};

/// Decodes one text inline and piped, and asserts the same document and diagnostics.
fn assert_same_decode(name: &str, text: &str, limits: &Limits) -> Vec<String> {
    let file = SourceFile::new(name.into(), name.to_string(), text.to_string());
    let (inline_doc, inline_diags) =
        load::parse_document_with(&file, FileId::new(0), limits, false);
    let (piped_doc, piped_diags) = load::parse_document_with(&file, FileId::new(0), limits, true);
    assert_eq!(
        format!("{inline_doc:?}"),
        format!("{piped_doc:?}"),
        "{name}: the piped parse built another document"
    );
    assert_eq!(
        format!("{inline_diags:?}"),
        format!("{piped_diags:?}"),
        "{name}: the piped parse reported otherwise"
    );
    assert_split_agrees(
        name,
        &file,
        limits,
        &format!("{inline_doc:?}"),
        inline_diags.is_empty(),
    );
    piped_diags.iter().map(|d| d.message.clone()).collect()
}

/// Reads the file in two parts, cut at every entry in turn (at 300 places at most, and at 8 in
/// a file over 64 KiB, which takes a while to read in a debug build): each reading either
/// declines (the caller then reads the file in one piece) or gives exactly the one-piece
/// document, and it declines whenever one reading reports a problem. Returns how many cuts were
/// used.
fn assert_split_agrees(
    name: &str,
    file: &SourceFile,
    limits: &Limits,
    whole: &str,
    clean: bool,
) -> usize {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(file.text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < file.text.len())
        .collect();
    let cuts = if file.text.len() > 64 * 1024 { 8 } else { 300 };
    let step = starts.len().div_ceil(cuts).max(1);
    let mut used = 0;
    for &aim in starts.iter().step_by(step) {
        let Some(doc) = load::parse_document_split(file, FileId::new(0), limits, Some(aim)) else {
            continue;
        };
        assert!(
            clean,
            "{name}: read in two parts (cut near {aim}) despite its problems"
        );
        assert_eq!(
            format!("{:?}", Some(doc)),
            whole,
            "{name}: the two parts cut near byte {aim} gave another document"
        );
        used += 1;
    }
    used
}

/// Reads a text whole and in two parts cut everywhere; returns how many cuts were used.
fn split_uses(name: &str, text: &str, limits: &Limits) -> usize {
    let file = SourceFile::new(name.into(), name.to_string(), text.to_string());
    let (doc, diags) = load::parse_document_with(&file, FileId::new(0), limits, false);
    assert_split_agrees(name, &file, limits, &format!("{doc:?}"), diags.is_empty())
}

#[test]
fn reading_in_two_parts_declines_whatever_one_reading_would_report() {
    let limits = Limits::default();
    let clean =
        "topolint: 1\nservices:\n  a: {}\n  b:\n    owner: x\n  c: {}\nchannels:\n  q: {}\n";
    assert!(split_uses("clean.yaml", clean, &limits) > 0);
    // Each of these is read in one piece at every cut; `split_uses` checks that any two-part
    // reading would have been refused.
    let declined = [
        // A top-level field before and after the section: one reading reports the duplicate.
        "topolint: 1\nchannels:\n  q: {}\nservices:\n  a: {}\n  b: {}\n  c: {}\nchannels:\n  r: {}\n",
        // A quoted scalar whose second line looks like an entry.
        "topolint: 1\nservices:\n  a:\n    description: \"one\n  b: two\"\n  c: {}\n  d: {}\n",
        // A flow list across lines that look like entries.
        "topolint: 1\nservices:\n  a:\n    reads: [x,\n  b: y]\n  c: {}\n  d: {}\n",
        // The same service twice, one in each part: found by the merge, whichever way.
        "topolint: 1\nservices:\n  a: {}\n  b: {}\n  a: {}\n  c: {}\n",
        // A bad field in the body, a syntax error in the tail, no `topolint` in the head.
        "topolint: 1\nservices:\n  a: {}\n  b: {}\n  c: { colour: red }\n",
        "topolint: 1\nservices:\n  a: {}\n  b: {}\n  c: {}\nchannels: [\n",
        "services:\n  a: {}\n  b: {}\n  c: {}\n",
    ];
    for (i, text) in declined.iter().enumerate() {
        let file = SourceFile::new("d.yaml".into(), "d.yaml".into(), text.to_string());
        let (_, diags) = load::parse_document_with(&file, FileId::new(0), &limits, false);
        if i != 3 {
            assert!(!diags.is_empty(), "case {i} is a problem when read whole");
            assert_eq!(split_uses("d.yaml", text, &limits), 0, "case {i}");
        } else {
            // Duplicate names are the merge's to find: both readings keep both definitions.
            split_uses("d.yaml", text, &limits);
            let loaded = common::load_texts(&[("d.topology.yaml", text)]);
            assert!(loaded.has_errors());
        }
    }
    // An alias to an anchor in the head: valid, and each cut either declines (the alias is in
    // the body) or agrees.
    let alias = "topolint: 1\nservices:\n  a: &s { owner: x }\n  b: {}\n  c: *s\n  d: {}\n";
    split_uses("alias.yaml", alias, &limits);
    // Aliases within one part are fine, but together they stay within the limit.
    let mut many = String::from("topolint: 1\nservices:\n");
    for i in 0..6 {
        many.push_str(&format!(
            "  s{i}:\n    reads: &r{i} [a, b, c, d, e]\n    writes: *r{i}\n"
        ));
    }
    let tight = Limits {
        max_alias_expansion: 8,
        ..Limits::default()
    };
    assert_eq!(split_uses("aliases.yaml", &many, &tight), 0);
    assert!(split_uses("aliases.yaml", &many, &limits) > 0);
}

#[test]
fn a_large_file_is_read_in_two_parts_to_the_same_document() {
    // Past the size from which `parse_document` cuts files itself, with non-ASCII text so that
    // the second part's positions go through the line index.
    let mut text = topolint::synth::topology(4_000, 5);
    text = text.replacen("system: synthetic", "system: \"synthétique ☕\"", 1);
    assert!(text.len() > load::SPLIT_MIN_BYTES);
    let file = SourceFile::new("big.yaml".into(), "big.yaml".into(), text.clone());
    let (whole, diags) =
        load::parse_document_with(&file, FileId::new(0), &Limits::default(), false);
    assert!(diags.is_empty(), "{diags:?}");
    let (default, diags) = load::parse_document(&file, FileId::new(0), &Limits::default());
    assert!(diags.is_empty());
    assert_eq!(format!("{default:?}"), format!("{whole:?}"));
    assert!(load::parse_document_split(&file, FileId::new(0), &Limits::default(), None).is_some());
}

#[test]
fn piped_parsing_decodes_every_fixture_as_inline_parsing_does() {
    let root = common::root().join("fixtures");
    let files = common::files_under(&root, &["yaml", "yml", "input"]);
    assert!(files.len() > 50, "fixtures found: {}", files.len());
    let mut with_problems = 0;
    let mut split = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let name = path.display().to_string();
        let diags = assert_same_decode(&name, &text, &Limits::default());
        with_problems += usize::from(!diags.is_empty());
        split += usize::from(split_uses(&name, &text, &Limits::default()) > 0);
    }
    // Clean fixtures with two entries or more in a section were read in two parts as well.
    assert!(split >= 20, "fixtures read in two parts: {split}");
    // The invalid fixtures went through too: syntax errors and bad fields, not only clean files.
    assert!(
        with_problems >= 15,
        "fixtures with problems: {with_problems}"
    );
}

#[test]
fn piped_parsing_keeps_spans_of_quoted_folded_and_non_ascii_scalars() {
    // Scalars the parser rewrites (escapes, folding, quotes) and ones it does not, with multi-byte
    // text before them so that offsets and columns differ.
    let text = "topolint: 1\nsystem: \"caf\\u00e9 \u{1F600}\"\ndescription: >\n  folded\n  text\nservices:\n  'a-ü':\n    owner: 'it''s'\n    description: \"tab\\there\"\n    calls:\n      - to: \"b\"\n        timeout: 100ms\n  b:\n    owner: plain text\n    latency: { p50: 1ms, p99: 3ms }\n    budget: fast\n";
    let diags = assert_same_decode("scalars.yaml", text, &Limits::default());
    // Two bad values, found at the same places both ways (asserted above): the name (names are
    // ASCII) and `budget: fast`.
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert!(diags[1].contains("`fast` is not a duration"), "{diags:?}");
}

#[test]
fn piped_parsing_stops_cleanly_on_errors_and_limits_early_in_a_large_file() {
    let big = topolint::synth::topology(2_000, 7);
    assert!(big.len() > load::PIPELINE_MIN_BYTES);
    // A syntax error near the start, then lots more text the parser need not reach.
    let early = format!("topolint: 1\nservices: [unclosed\n{big}");
    let diags = assert_same_decode("early.yaml", &early, &Limits::default());
    assert!(!diags.is_empty());
    // A syntax error at the very end.
    let late = format!("{big}\n  broken: [\n");
    let diags = assert_same_decode("late.yaml", &late, &Limits::default());
    assert!(!diags.is_empty());
    // A nesting limit hit early: the decoder quits and the parser's thread must stop too.
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let diags = assert_same_decode("deep.yaml", &big, &limits);
    assert!(
        diags.iter().any(|m| m.contains("nesting deeper than 2")),
        "{diags:?}"
    );
    // An alias bomb.
    let mut bomb = String::from("topolint: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    bomb.push_str("services: *a9\n");
    let diags = assert_same_decode("bomb.yaml", &bomb, &Limits::default());
    assert!(diags.iter().any(|m| m.contains("alias")), "{diags:?}");
}

#[test]
fn a_large_file_loads_piped_to_the_same_model() {
    // Over the size at which `parse_document` pipes on its own, so the default path is covered.
    let text = topolint::synth::topology(3_000, 11);
    assert!(text.len() > load::PIPELINE_MIN_BYTES);
    let diags = assert_same_decode("synthetic.topology.yaml", &text, &Limits::default());
    assert!(diags.is_empty(), "{diags:?}");
}

/// The findings of a lint run, as comparable text.
fn lint_text(loaded: &load::Loaded, threads: usize) -> (String, String) {
    let graph = Graph::build(&loaded.model);
    let outcome = engine::lint_on(&loaded.model, &graph, &RuleConfig::default(), threads);
    (
        format!("{:?}", outcome.diagnostics),
        format!("{:?}", outcome.suppressed),
    )
}

#[test]
fn rules_on_several_threads_find_what_one_thread_finds() {
    let text = topolint::synth::topology(6_000, 3);
    let loaded = common::load_texts(&[("synthetic.topology.yaml", &text)]);
    assert!(!loaded.has_errors());
    let one = lint_text(&loaded, 1);
    assert!(one.0.len() > 1_000, "the synthetic topology has findings");
    for threads in [2, 3, 8] {
        assert_eq!(one, lint_text(&loaded, threads), "{threads} threads");
    }
    // And the examples and rule fixtures, whose findings are of every rule.
    let root = common::root().join("fixtures");
    for dir in ["examples", "invalid/rules", "valid"] {
        for path in common::files_under(&root.join(dir), &["yaml"]) {
            let loaded = load::load_paths(std::slice::from_ref(&path), &Limits::default()).unwrap();
            assert_eq!(
                lint_text(&loaded, 1),
                lint_text(&loaded, 4),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn references_of_a_large_topology_are_checked_on_two_threads_in_file_order() {
    let mut text = topolint::synth::topology(24_000, 5);
    // Break three references: early, late (in the second half of the services, looked up on
    // the helper thread), and one naming a node of the wrong kind.
    let mut broken = Vec::new();
    for (nth, replacement) in [
        (10, "svc-missing-a"),
        (30_000, "svc-missing-b"),
        (30_500, "db-0"),
    ] {
        let at = text
            .match_indices("- to: svc-")
            .nth(nth)
            .expect("enough calls")
            .0
            + 6;
        let end = at + text[at..].find('\n').unwrap();
        text.replace_range(at..end, replacement);
        broken.push(at);
    }
    let loaded = common::load_texts(&[("synthetic.topology.yaml", &text)]);
    let found: Vec<(u32, &str)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.span.start, d.message.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    let starts: Vec<u32> = found.iter().map(|f| f.0).collect();
    assert_eq!(starts, broken.iter().map(|&b| b as u32).collect::<Vec<_>>());
    assert!(
        found[0].1.starts_with("`svc-missing-a` is not defined"),
        "{found:?}"
    );
    assert!(
        found[1].1.starts_with("`svc-missing-b` is not defined"),
        "{found:?}"
    );
    assert!(found[2].1.starts_with("`db-0` is a datastore"), "{found:?}");
}

/// Every edge of a graph, as comparable text.
fn edges_text(graph: &Graph) -> Vec<String> {
    topolint::graph::all_edges(graph)
        .map(|(from, to, edge)| format!("{from:?} {to:?} {edge:?}"))
        .collect()
}

#[test]
fn the_graph_built_from_what_the_load_found_is_the_graph_built_by_looking_up() {
    // A large topology (looked up on two threads) with references that name nothing, a node of
    // the wrong kind, and idempotency stores (which make no edge but take their place in order).
    let mut text = topolint::synth::topology(24_000, 5);
    for (nth, replacement) in [(10, "svc-missing-a"), (30_000, "db-0"), (30_500, "q-0")] {
        let at = text.match_indices("- to: svc-").nth(nth).unwrap().0 + 6;
        let end = at + text[at..].find('\n').unwrap();
        text.replace_range(at..end, replacement);
    }
    let mut files = vec![("synthetic.topology.yaml".into(), text)];
    let root = common::root().join("fixtures");
    for dir in ["examples", "invalid", "valid"] {
        for path in common::files_under(&root.join(dir), &["yaml"]) {
            files.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    let mut stores = 0;
    for (name, text) in &files {
        let mut loaded = common::load_texts(&[(name.as_str(), text.as_str())]);
        let Some(targets) = loaded.targets.take() else {
            // Not indexed: a file that failed to parse, or over the node limit.
            continue;
        };
        let model = &loaded.model;
        let references: usize = model
            .services
            .iter()
            .map(|s| {
                let mut n = 0;
                s.for_each_reference(|_, _, _| n += 1);
                n
            })
            .sum();
        assert_eq!(targets.len(), references, "{name}");
        stores += model
            .services
            .iter()
            .flat_map(|s| &s.consumes)
            .filter(|c| c.idempotency.as_ref().is_some_and(|i| i.store.is_some()))
            .count();
        let found = Graph::build_from(model, targets);
        assert_edges_as_the_model_says(model, &found, name);
        assert_eq!(
            edges_text(&found),
            edges_text(&Graph::build(model)),
            "{name}"
        );
    }
    assert!(stores > 0, "the files have idempotency stores");
}

/// Asserts that every edge of `graph` joins a service to the node its item names, and that
/// every reference that names a node of a kind it accepts (found here with the model's own
/// lookup) made one; gives the number of edges from services.
fn assert_edges_as_the_model_says(
    model: &topolint::model::Model,
    graph: &Graph,
    file: &str,
) -> usize {
    use topolint::graph::EdgeKind;
    use topolint::model::Reference;
    let mut counted = 0;
    for (from, to, edge) in topolint::graph::all_edges(graph) {
        let name = |n| graph.name(model, n).to_string();
        if edge.kind == EdgeKind::DeadLetter {
            continue;
        }
        let s = &model.services[edge.owner as usize];
        let i = edge.item as usize;
        let (owner, other, named) = match edge.kind {
            EdgeKind::Call => (from, to, s.calls[i].to.value.to_string()),
            EdgeKind::Request => (from, to, s.requests[i].to.value.to_string()),
            EdgeKind::Reply => (
                to,
                from,
                s.requests[i]
                    .options
                    .reply
                    .as_ref()
                    .unwrap()
                    .value
                    .to_string(),
            ),
            EdgeKind::Publish => (from, to, s.publishes[i].to.value.to_string()),
            EdgeKind::Consume => (to, from, s.consumes[i].from.value.to_string()),
            EdgeKind::Read => (from, to, s.reads[i].value.to_string()),
            EdgeKind::Write => (from, to, s.writes[i].value.to_string()),
            EdgeKind::DeadLetter => unreachable!(),
        };
        assert_eq!(name(owner), s.name.value.to_string(), "{file}: {edge:?}");
        assert_eq!(name(other), named, "{file}: {edge:?}");
        counted += 1;
    }
    let mut resolving = 0;
    for s in &model.services {
        s.for_each_reference(|reference, _, name| {
            let node = model.lookup(&name.value);
            if reference != Reference::IdempotencyStore
                && node.is_some_and(|n| reference.kinds().contains(&n.kind))
            {
                resolving += 1;
            }
        });
    }
    assert_eq!(counted, resolving, "{file}");
    counted
}

#[test]
fn a_large_graph_built_on_two_threads_has_every_edge_where_the_model_says() {
    let text = topolint::synth::topology(24_000, 9);
    let loaded = common::load_texts(&[("s.yaml", &text)]);
    assert!(!loaded.has_errors());
    let model = &loaded.model;
    let counted = assert_edges_as_the_model_says(model, &Graph::build(model), "s.yaml");
    // Every reference became an edge (the synthetic topology has no dangling ones).
    let references: usize = model
        .services
        .iter()
        .map(|s| {
            s.calls.len()
                + s.requests.len()
                + s.requests
                    .iter()
                    .filter(|r| r.options.reply.is_some())
                    .count()
                + s.publishes.len()
                + s.consumes.len()
                + s.reads.len()
                + s.writes.len()
        })
        .sum();
    assert_eq!(counted, references);
    assert!(counted > 50_000, "{counted}");
}

#[test]
fn many_files_parsed_in_two_halves_load_as_one_by_one() {
    // Twelve files, about 300 KiB in all, with problems in both halves and a name defined in two
    // files (T004 must point at the later one).
    let mut texts = Vec::new();
    for k in 0..12 {
        let mut t = String::from("topolint: 1\nservices:\n");
        for i in 0..300 {
            t.push_str(&format!(
                "  f{k}-s{i}:\n    owner: team-{k}\n    calls:\n      - to: f{k}-s{}\n        timeout: 1s\n",
                (i + 1) % 300
            ));
        }
        texts.push(t);
    }
    texts[1].push_str("  bad-one:\n    ownr: typo\n");
    texts[10].push_str("  bad-two:\n    latency: fast\n");
    texts[9].push_str("  f2-s0: {}\n");
    let sources = || {
        let mut sources = Sources::default();
        for (k, t) in texts.iter().enumerate() {
            let name = format!("part{k}.topology.yaml");
            sources.add(SourceFile::new(name.clone().into(), name, t.clone()));
        }
        sources
    };
    let total: usize = texts.iter().map(String::len).sum();
    assert!(total >= load::PARALLEL_FILES_MIN_BYTES, "{total}");
    let together = load::load_sources(sources(), &[], &Limits::default());
    // One by one, through the same public steps the language server uses.
    let one_by_one = {
        let sources = sources();
        let mut documents = Vec::new();
        let mut diagnostics = Vec::new();
        for (i, file) in sources.files.iter().enumerate() {
            let id = FileId::new(i as u32);
            let (doc, mut problems) =
                load::parse_document_with(file, id, &Limits::default(), false);
            diagnostics.append(&mut problems);
            documents.extend(doc.map(|d| (id, d)));
        }
        load::merge_documents(sources, documents, diagnostics, &Limits::default())
    };
    assert_eq!(
        format!("{:?}", together.diagnostics),
        format!("{:?}", one_by_one.diagnostics)
    );
    assert_eq!(
        format!("{:?}", together.model),
        format!("{:?}", one_by_one.model)
    );
    let codes: Vec<&str> = together.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        ["T002", "T002", "T004"],
        "{:?}",
        together.diagnostics
    );
    assert_eq!(together.diagnostics[2].span.file, FileId::new(9));
}
