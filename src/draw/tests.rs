use std::path::PathBuf;

use super::*;
use crate::lints::engine::RuleConfig;
use crate::load::{self, Limits};
use crate::source::Sources;

fn analyze(text: &str) -> Analysis {
    let mut sources = Sources::default();
    let (file, problem) = load::from_bytes(
        PathBuf::from("test.topology.yaml"),
        "test.topology.yaml".to_string(),
        text.as_bytes().to_vec(),
    );
    assert!(problem.is_none(), "{problem:?}");
    sources.add(file);
    let loaded = load::load_sources(sources, &[], &Limits::default());
    crate::analyze(loaded, &RuleConfig::default())
}

fn options(format: Format) -> Options {
    Options {
        format,
        ..Options::default()
    }
}

fn node<'p>(p: &'p Picture, name: &str) -> &'p Node {
    p.nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name} in {:?}", names(p)))
}

fn names(p: &Picture) -> Vec<&str> {
    p.nodes.iter().map(|n| n.name.as_str()).collect()
}

fn edge<'p>(p: &'p Picture, from: &str, to: &str) -> &'p Edge {
    p.edges
        .iter()
        .find(|e| p.nodes[e.from].name == from && p.nodes[e.to].name == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
}

/// web → a → b → c → d, four calls deep from a user-facing service: S101 (warning) on `web`
/// and each hop.
const CHAIN: &str = r#"
topolint: 1
system: chain
defaults:
  calls: { retries: 0, circuit_breaker: true }
services:
  web:
    owner: team-web
    user_facing: true
    calls: [{ to: a, timeout: 100ms }]
  a:
    owner: team-core
    calls: [{ to: b, timeout: 100ms }]
  b:
    owner: team-web
    calls: [{ to: c, timeout: 100ms }]
  c:
    calls: [{ to: d, timeout: 100ms }]
  d:
    owner: team-core
"#;

#[test]
fn findings_colour_the_nodes_and_edges_they_concern() {
    let analysis = analyze(CHAIN);
    let codes: Vec<_> = analysis.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&"S101"), "{codes:?}");
    let p = picture(&analysis, &Options::default()).unwrap();
    let web = node(&p, "web");
    assert_eq!(web.mark.severity, Some(Severity::Warning));
    assert_eq!(web.findings[0].code, "S101");
    // The chain's hops are S101's related spans.
    for (from, to) in [("web", "a"), ("b", "c"), ("c", "d")] {
        let e = edge(&p, from, to);
        assert_eq!(e.mark.severity, Some(Severity::Warning), "{from} -> {to}");
        assert!(e.full_label().contains("S101"), "{}", e.full_label());
    }
    // Nodes that no finding names stay plain, but for the highlighted chain.
    assert_eq!(node(&p, "d").mark.severity, None);
    assert_eq!(p.legend.warnings, 1);
}

#[test]
fn an_error_outranks_a_warning_on_the_same_edge() {
    // Without a timeout, `a → b` is both an S101 hop (warning) and an S102 (error).
    let analysis = analyze(&CHAIN.replace("{ to: b, timeout: 100ms }", "{ to: b }"));
    let p = picture(&analysis, &Options::default()).unwrap();
    let e = edge(&p, "a", "b");
    assert_eq!(e.mark.severity, Some(Severity::Error));
    assert_eq!(e.full_label(), "S101, S102");
    assert!(e.findings.iter().any(|f| f.severity == Severity::Warning));
    assert_eq!((p.legend.errors, p.legend.warnings), (1, 1));
}

#[test]
fn a_missing_timeout_is_drawn_red_on_its_call() {
    let analysis = analyze(
        r#"
topolint: 1
services:
  web: { user_facing: true, calls: [{ to: api, retries: 0, circuit_breaker: true }] }
  api: {}
"#,
    );
    assert!(analysis.diagnostics.iter().any(|d| d.code == "S102"));
    let p = picture(&analysis, &Options::default()).unwrap();
    let e = edge(&p, "web", "api");
    assert_eq!(e.mark.severity, Some(Severity::Error));
    let mermaid = mermaid::render(&p);
    assert!(
        mermaid.contains(&format!("linkStyle 0 stroke:{}", palette::ERROR)),
        "{mermaid}"
    );
    let dot = dot::render(&p);
    assert!(
        dot.contains(&format!("color=\"{}\"", palette::ERROR)),
        "{dot}"
    );
    assert!(dot.contains("tooltip=\"S102 missing-timeout: call from web to api"));
}

#[test]
fn a_message_finding_marks_the_channels_that_carry_it() {
    let analysis = analyze(
        r#"
topolint: 1
services:
  a:
    publishes: [{ to: events, message: Placed }]
  b:
    consumes: [{ from: events, idempotent: true }]
  c:
    consumes: [{ from: events, idempotent: true }]
channels:
  events: { kind: topic, messages: [Placed], dead_letter: none, reason: test, alerts: { depth: 1 } }
messages:
  Placed: { format: avro }
"#,
    );
    assert!(analysis.diagnostics.iter().any(|d| d.code == "C301"));
    let p = picture(&analysis, &Options::default()).unwrap();
    assert!(node(&p, "events").findings.iter().any(|f| f.code == "C301"));
    assert!(
        edge(&p, "a", "events")
            .findings
            .iter()
            .any(|f| f.code == "C301")
    );
    // Messages and brokers are not nodes.
    assert!(!names(&p).contains(&"Placed"));
}

#[test]
fn the_longest_chain_from_an_entrypoint_is_highlighted() {
    let p = picture(&analyze(CHAIN), &Options::default()).unwrap();
    for name in ["web", "a", "b", "c", "d"] {
        assert!(node(&p, name).mark.path, "{name}");
    }
    assert!(edge(&p, "c", "d").mark.path);
    let text = p.legend.path.as_deref().unwrap();
    assert_eq!(
        text,
        "longest synchronous chain: web → a → b → c → d (4 calls)"
    );
}

#[test]
fn a_cycle_is_highlighted_instead_of_a_chain() {
    let analysis = analyze(
        r#"
topolint: 1
defaults:
  calls: { timeout: 100ms, retries: 0, circuit_breaker: true }
services:
  web: { user_facing: true, calls: [{ to: x }] }
  x: { calls: [{ to: y }] }
  y: { calls: [{ to: z }] }
  z: { calls: [{ to: x }] }
"#,
    );
    let p = picture(&analysis, &Options::default()).unwrap();
    assert_eq!(
        p.legend.path.as_deref(),
        Some("synchronous cycle: x → y → z → x")
    );
    assert!(edge(&p, "z", "x").mark.path);
    assert!(!edge(&p, "web", "x").mark.path);
    assert!(!node(&p, "web").mark.path);
}

#[test]
fn focus_keeps_the_neighbourhood_in_both_directions() {
    let analysis = analyze(CHAIN);
    let focus = |name: &str, depth| {
        let o = Options {
            focus: Some(name.to_string()),
            depth,
            ..Options::default()
        };
        picture(&analysis, &o).unwrap()
    };
    let p = focus("b", 1);
    assert_eq!(names(&p), ["a", "b", "c"]);
    assert!(node(&p, "b").mark.focus);
    assert!(!node(&p, "a").mark.focus);
    assert_eq!(p.edges.len(), 2);
    assert_eq!(
        p.legend.focus.as_deref(),
        Some("focus: b, depth 1 (3 of 5 nodes)")
    );
    assert_eq!(names(&focus("b", 2)), ["web", "a", "b", "c", "d"]);
    assert_eq!(names(&focus("web", 0)), ["web"]);
    assert_eq!(names(&focus("d", 2)), ["b", "c", "d"]);
    // Findings outside the picture are counted, not drawn.
    let p = focus("d", 0);
    assert_eq!(p.legend.warnings, 0);
    assert_eq!(p.legend.elsewhere, 1);
}

#[test]
fn focus_on_an_unknown_or_undrawn_node_is_an_error() {
    let analysis = analyze(&format!("{CHAIN}brokers:\n  kafka: {{ kind: kafka }}\n"));
    let o = |name: &str| Options {
        focus: Some(name.to_string()),
        ..Options::default()
    };
    let err = picture(&analysis, &o("webb")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--focus: no node is named `webb`; did you mean `web`?"
    );
    let err = picture(&analysis, &o("kafka")).unwrap_err();
    assert!(matches!(err, DrawError::NotDrawn { .. }), "{err}");
}

#[test]
fn grouping_by_owner_makes_one_group_per_team_in_order() {
    let analysis = analyze(CHAIN);
    let o = Options {
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    };
    let p = picture(&analysis, &o).unwrap();
    assert_eq!(p.groups, ["team-web", "team-core"]);
    assert_eq!(node(&p, "web").group, Some(0));
    assert_eq!(node(&p, "b").group, Some(0));
    assert_eq!(node(&p, "a").group, Some(1));
    assert_eq!(node(&p, "c").group, None);
    let mermaid = mermaid::render(&p);
    let web = mermaid.find("subgraph g0[\"team-web\"]").unwrap();
    let end = web + mermaid[web..].find("  end\n").unwrap();
    assert!(mermaid[web..end].contains("n0([\"web"), "{mermaid}");
    assert!(mermaid[web..end].contains("n2[\"b"), "{mermaid}");
    let dot = dot::render(&p);
    assert!(dot.contains("subgraph cluster_g1 {\n    graph [label=\"team-core\""));
    // Without grouping there are no team subgraphs.
    let plain = draw(&analysis, &options(Format::Mermaid)).unwrap();
    assert!(!plain.contains("subgraph g"));
}

#[test]
fn output_is_deterministic() {
    for format in [Format::Mermaid, Format::Dot] {
        let o = Options {
            format,
            group_by: Some(GroupBy::Owner),
            ..Options::default()
        };
        let first = draw(&analyze(CHAIN), &o).unwrap();
        for _ in 0..5 {
            assert_eq!(draw(&analyze(CHAIN), &o).unwrap(), first);
        }
    }
}

#[test]
fn edges_of_one_style_between_two_nodes_are_drawn_once() {
    let analysis = analyze(
        r#"
topolint: 1
services:
  a:
    reads: [db]
    writes: [db]
    publishes: [{ to: events, message: A }, { to: events, message: B }]
channels:
  events: { kind: topic, dead_letter: none, reason: test }
datastores:
  db: { kind: postgres }
"#,
    );
    let p = picture(&analysis, &Options::default()).unwrap();
    assert_eq!(p.edges.len(), 2);
    assert_eq!(edge(&p, "a", "db").label, "reads, writes");
    assert_eq!(edge(&p, "a", "events").label, "A, B");
    assert_eq!(edge(&p, "a", "events").line, Line::Async);
}

#[test]
fn edge_styles_and_labels() {
    let analysis = analyze(
        r#"
topolint: 1
services:
  a:
    calls: [{ to: b, protocol: grpc, timeout: 250ms }]
    requests: [{ to: req, reply: rep, message: Ask, timeout: 2s }]
  b:
    consumes: [{ from: req }]
    publishes: [{ to: rep }]
channels:
  req: { kind: queue, broker: mq, dead_letter: dlq }
  rep: { kind: queue, broker: mq }
  dlq: { kind: queue, broker: mq }
brokers:
  mq: { kind: rabbitmq }
"#,
    );
    let p = picture(&analysis, &Options::default()).unwrap();
    let call = edge(&p, "a", "b");
    assert_eq!(
        (call.line, call.label.as_str()),
        (Line::Sync, "grpc · 250ms")
    );
    let request = edge(&p, "a", "req");
    assert_eq!(request.line, Line::RequestReply);
    assert_eq!(request.label, "request · Ask · 2s");
    assert_eq!(edge(&p, "rep", "a").label, "reply");
    assert_eq!(edge(&p, "req", "b").line, Line::Async);
    assert_eq!(edge(&p, "req", "dlq").line, Line::DeadLetter);
    assert_eq!(node(&p, "req").detail.as_deref(), Some("queue · mq"));
    let mermaid = mermaid::render(&p);
    assert!(
        mermaid.contains("n0 -->|\"grpc · 250ms · S103\"| n1"),
        "{mermaid}"
    );
    assert!(mermaid.contains(" ==>|\"request · Ask · 2s"), "{mermaid}");
    let dot = dot::render(&p);
    assert!(
        dot.contains("n2 -> n4 [label=\"dead letter · A204\", style=dotted"),
        "{dot}"
    );
}

#[test]
fn mermaid_escapes_what_it_would_misread() {
    assert_eq!(
        mermaid::escape(r#"a"b#c<d>&e|f`g;h%i{j}[k]\l"#),
        "a#34;b#35;c#60;d#62;#38;e#124;f#96;g#59;h#37;i#123;j#125;#91;k#93;#92;l"
    );
    assert_eq!(mermaid::escape("two\nlines\t"), "two lines ");
    assert_eq!(mermaid::escape("café → db_1"), "café → db_1");
}

#[test]
fn dot_escapes_what_it_would_misread() {
    assert_eq!(dot::escape(r#"a"b\N&amp;"#), r#"a\"b\\N&amp;amp;"#);
    assert_eq!(dot::escape("x\ny"), "x y");
}

#[test]
fn names_are_labels_and_never_ids() {
    // Names that are keywords in Mermaid or DOT, and free text that is syntax in both.
    let analysis = analyze(
        r#"
topolint: 1
system: 'a "quoted" <system> & co; %% not a comment'
services:
  end: { owner: 'team "end" {x}', calls: [{ to: subgraph, timeout: 1s }] }
  subgraph: { owner: 'team "end" {x}', writes: [graph] }
  node: { calls: [{ to: digraph, timeout: 1s }] }
externals:
  digraph: {}
datastores:
  graph: { kind: 'pg"16\N; style fill:red' }
"#,
    );
    let o = Options {
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    };
    let p = picture(&analysis, &o).unwrap();
    let mermaid = mermaid::render(&p);
    for line in mermaid.lines().skip(1) {
        let statement = line.trim_start();
        let first = statement.split([' ', '[', '(', '{']).next().unwrap();
        assert!(
            ["subgraph", "end", "classDef", "class", "linkStyle"].contains(&first)
                || first.starts_with('n') && first[1..].chars().all(|c| c.is_ascii_digit())
                || first.starts_with('L') && first[1..].chars().all(|c| c.is_ascii_digit()),
            "statement starts with {first:?}: {line}"
        );
        if first == "end" {
            assert_eq!(statement, "end");
        }
    }
    assert!(mermaid.contains("subgraph g0[\"team #34;end#34; #123;x#125;\"]"));
    assert!(mermaid.contains("pg#34;16#92;N#59; style fill:red"));
    let dot = dot::render(&p);
    assert!(
        dot.contains(r#"label="graph\npg\"16\\N; style fill:red""#),
        "{dot}"
    );
    assert!(dot.contains(r#"label="a \"quoted\" <system> &amp; co; %% not a comment""#));
}
