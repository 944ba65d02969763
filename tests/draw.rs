//! `topolint graph`: the DOT renders with the real Graphviz without a warning, the Mermaid parses
//! with the real Mermaid parser and reads back as drawn, the README picture is up to date, and the
//! command line behaves.
//!
//! Graphviz (`dot`) and the npm packages (`npm ci`) are needed: without them these tests print
//! why they skip, except under CI (env `CI` set), where a missing tool fails the test.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use topolint::Analysis;
use topolint::draw::{self, Format, GroupBy, Line, Options, Picture, Shape};

const INSTALL_DOT: &str = "apt-get install -y graphviz";
const INSTALL_NPM: &str = "npm ci (at the repository root)";

/// Whether a tool the test needs is there. Locally a missing tool skips the test with a message;
/// under CI it fails it, so that a green CI run always means the tool ran.
fn require(tool: &str, available: bool, install: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is required under CI but was not found; install it with `{install}`");
    }
    eprintln!("SKIPPED: {tool} not found; install it with `{install}` to run this test");
    false
}

fn has_dot() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has_mermaid() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    node && root().join("node_modules/mermaid/package.json").exists()
        && root().join("node_modules/jsdom/package.json").exists()
}

/// Renders DOT to SVG; returns the SVG and what Graphviz printed on stderr.
fn render_svg(dot: &str) -> (String, String) {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dot runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The topologies drawn: every example, every valid fixture, and every rule fixture (each has
/// findings to colour). A directory below these folders is one multi-file topology.
fn topologies() -> Vec<(String, Analysis)> {
    let mut out = Vec::new();
    for dir in [
        "fixtures/examples",
        "fixtures/valid",
        "fixtures/invalid/rules",
    ] {
        let dir = root().join(dir);
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() || p.to_string_lossy().ends_with(".topology.yaml"))
            .collect();
        entries.sort();
        for path in entries {
            let analysis = check(std::slice::from_ref(&path));
            if analysis.has_load_errors() {
                continue;
            }
            let name = path.strip_prefix(root()).unwrap().display().to_string();
            out.push((name, analysis));
        }
    }
    assert!(out.len() >= 30, "found only {} topologies", out.len());
    out
}

/// The drawings of a topology: plain, grouped by owner, and focused on its first node.
fn variants(analysis: &Analysis, format: Format) -> Vec<(String, Options)> {
    let mut out = vec![
        (
            "plain".to_string(),
            Options {
                format,
                ..Options::default()
            },
        ),
        (
            "by owner".to_string(),
            Options {
                format,
                group_by: Some(GroupBy::Owner),
                ..Options::default()
            },
        ),
    ];
    if let Some(first) = analysis.loaded.model.services.first() {
        out.push((
            format!("focus {}", first.name.value),
            Options {
                format,
                focus: Some(first.name.value.to_string()),
                depth: 1,
                group_by: Some(GroupBy::Owner),
            },
        ));
    }
    out
}

#[test]
fn dot_renders_with_graphviz_without_warnings() {
    if !require("Graphviz `dot`", has_dot(), INSTALL_DOT) {
        return;
    }
    let mut failures = Vec::new();
    let mut rendered = 0;
    for (name, analysis) in topologies() {
        for (variant, options) in variants(&analysis, Format::Dot) {
            let text = draw::draw(&analysis, &options).unwrap();
            let (svg, stderr) = render_svg(&text);
            rendered += 1;
            if !stderr.is_empty() || !svg.contains("</svg>") {
                failures.push(format!("{name} ({variant}): {stderr}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "Graphviz warned:\n{}",
        failures.join("\n")
    );
    eprintln!("rendered {rendered} DOT pictures with Graphviz, no warnings");
}

#[test]
fn mermaid_parses_with_the_real_parser_and_reads_back_as_drawn() {
    if !require(
        "node with the npm packages mermaid and jsdom",
        has_mermaid(),
        INSTALL_NPM,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for (i, (name, analysis)) in topologies().into_iter().enumerate() {
        for (j, (variant, options)) in variants(&analysis, Format::Mermaid).into_iter().enumerate()
        {
            let path = dir.path().join(format!("{i}-{j}.mmd"));
            std::fs::write(&path, draw::draw(&analysis, &options).unwrap()).unwrap();
            let picture = draw::picture(&analysis, &options).unwrap();
            expected.push((path, format!("{name} ({variant})"), picture));
        }
    }
    // A hostile one too: names that are Mermaid keywords, free text full of syntax.
    let hostile = check_text(HOSTILE);
    assert!(!hostile.has_load_errors(), "{:?}", hostile.diagnostics);
    let options = Options {
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    };
    let path = dir.path().join("hostile.mmd");
    std::fs::write(&path, draw::draw(&hostile, &options).unwrap()).unwrap();
    expected.push((
        path,
        "hostile".into(),
        draw::picture(&hostile, &options).unwrap(),
    ));

    let out = Command::new("node")
        .arg(root().join("tests/js/mermaid-parse.mjs"))
        .args(expected.iter().map(|(p, ..)| p))
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        results.len(),
        expected.len(),
        "node printed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failures = Vec::new();
    for ((_, name, picture), result) in expected.iter().zip(&results) {
        if result["ok"] != true {
            failures.push(format!("{name}: {}", result["error"]));
            continue;
        }
        if let Err(e) = reads_back(picture, result) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "Mermaid {} disagrees:\n{}",
        results[0]["mermaid"],
        failures.join("\n")
    );
    assert!(out.status.success());
    eprintln!(
        "parsed {} Mermaid pictures with mermaid {}",
        results.len(),
        results[0]["mermaid"]
    );
}

const HOSTILE: &str = r#"
topolint: 1
system: 'a "quoted" <system> & co; %% not a comment'
services:
  end: { owner: 'team "end" {x} | y', calls: [{ to: subgraph, timeout: 1s }] }
  subgraph: { owner: 'team "end" {x} | y', writes: [graph], user_facing: true }
  style: { owner: "classDef; linkStyle 0 stroke:red", calls: [{ to: digraph, timeout: 1s }] }
  click: { calls: [{ to: end }] }
externals:
  digraph: {}
datastores:
  graph: { kind: 'pg"16 -->|x| y[(z)] `md` #35; &amp; \N' }
"#;

/// What Mermaid read equals what the picture holds: the same nodes (ids, shapes, labels), edges
/// (ends, strokes, labels, in order, so `linkStyle` indices line up), and subgraphs.
fn reads_back(picture: &Picture, result: &serde_json::Value) -> Result<(), String> {
    // The script decodes Mermaid's entities: labels must read back as the names themselves.
    let text = |lines: &[String]| lines.join("<br>");
    let shape = |s: Shape| match s {
        Shape::Service => "square",
        Shape::Entrypoint => "stadium",
        Shape::External => "hexagon",
        Shape::Channel => "lean_right",
        Shape::Datastore => "cylinder",
    };
    let stroke = |l: Line| match l {
        Line::Sync | Line::Data => "normal",
        Line::Async | Line::DeadLetter => "dotted",
        Line::RequestReply => "thick",
    };
    let samples = draw::legend_samples(&picture.legend);
    let mut want_vertices: Vec<(String, &str, String)> = picture
        .nodes
        .iter()
        .map(|n| (n.id.clone(), shape(n.shape), text(&n.lines())))
        .chain(samples.nodes.iter().enumerate().map(|(i, (label, s, _))| {
            (
                format!("L{i}"),
                shape(*s),
                text(std::slice::from_ref(label)),
            )
        }))
        .collect();
    want_vertices.sort();
    let mut got_vertices: Vec<(String, &str, String)> = result["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["shape"].as_str().unwrap(),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got_vertices.sort();
    if got_vertices != want_vertices {
        return Err(format!(
            "nodes differ:\n  drawn {want_vertices:?}\n  read  {got_vertices:?}"
        ));
    }
    let want_edges: Vec<(String, String, &str, String)> = picture
        .edges
        .iter()
        .map(|e| {
            (
                picture.nodes[e.from].id.clone(),
                picture.nodes[e.to].id.clone(),
                stroke(e.line),
                e.full_label(),
            )
        })
        .chain(samples.edges.iter().map(|e| {
            (
                format!("L{}", e.from),
                format!("L{}", e.to),
                stroke(e.line),
                e.full_label(),
            )
        }))
        .collect();
    let got_edges: Vec<(String, String, &str, String)> = result["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
                e["stroke"].as_str().unwrap(),
                e["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    if got_edges != want_edges {
        return Err(format!(
            "edges differ:\n  drawn {want_edges:?}\n  read  {got_edges:?}"
        ));
    }
    // Marked edges carry their colour: linkStyle indices match the edges.
    for (i, edge) in picture.edges.iter().enumerate() {
        let style = result["edges"][i]["style"].to_string();
        if let Some(colour) = edge.mark.edge_look().stroke
            && !style.contains(colour)
        {
            return Err(format!("edge {i} should be {colour}, Mermaid has {style}"));
        }
    }
    let mut want_groups: Vec<(String, Vec<String>)> = picture
        .groups
        .iter()
        .enumerate()
        .map(|(g, title)| {
            let mut members: Vec<String> = picture
                .nodes
                .iter()
                .filter(|n| n.group == Some(g))
                .map(|n| n.id.clone())
                .collect();
            members.sort();
            (title.clone(), members)
        })
        .collect();
    want_groups.push((
        match &picture.legend.title {
            Some(t) => format!("Legend: {t}"),
            None => "Legend".into(),
        },
        {
            let mut l: Vec<String> = (0..samples.nodes.len()).map(|i| format!("L{i}")).collect();
            l.sort();
            l
        },
    ));
    let got_groups: Vec<(String, Vec<String>)> = result["subgraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut members: Vec<String> = s["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            members.sort();
            (s["title"].as_str().unwrap().to_string(), members)
        })
        .collect();
    if got_groups != want_groups {
        return Err(format!(
            "subgraphs differ:\n  drawn {want_groups:?}\n  read  {got_groups:?}"
        ));
    }
    Ok(())
}

#[test]
fn hostile_names_render_with_graphviz() {
    if !require("Graphviz `dot`", has_dot(), INSTALL_DOT) {
        return;
    }
    let analysis = check_text(HOSTILE);
    let options = Options {
        format: Format::Dot,
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    };
    let (svg, stderr) = render_svg(&draw::draw(&analysis, &options).unwrap());
    assert_eq!(stderr, "");
    // Every label came through as text, not as syntax.
    let texts = svg_texts(&svg).join("\n");
    for label in [
        "a &quot;quoted&quot; &lt;system&gt; &amp; co; %% not a comment",
        "pg&quot;16 &#45;&#45;&gt;|x| y[(z)] `md` #35; &amp;amp; \\N",
        "team &quot;end&quot; {x} | y",
        "end",
        "subgraph",
    ] {
        assert!(texts.contains(label), "{label:?} not in\n{texts}");
    }
}

/// The text of an SVG's `<title>` and `<text>` elements, in order: what a reader sees, without
/// the coordinates that depend on fonts and the Graphviz version.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let tag = rest.split([' ', '>']).next().unwrap_or("");
        if tag == "text" || tag == "title" {
            let start = rest.find('>').map_or(rest.len(), |i| i + 1);
            let end = rest[start..]
                .find(&format!("</{tag}>"))
                .map_or(rest.len(), |i| start + i);
            out.push(rest[start..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn shop_dot() -> String {
    let analysis = check(&[root().join("fixtures/examples/shop")]);
    draw::draw(&analysis, &readme_options()).unwrap()
}

/// The README picture: `topolint graph fixtures/examples/shop --format dot --group-by owner`.
fn readme_options() -> Options {
    Options {
        format: Format::Dot,
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    }
}

/// `docs/shop.dot` is what the command draws today, and `docs/shop.svg` is what Graphviz draws
/// from it. `TOPOLINT_UPDATE=1 cargo test --test draw` rewrites both.
#[test]
fn readme_picture_is_up_to_date() {
    let dot_path = root().join("docs/shop.dot");
    let svg_path = root().join("docs/shop.svg");
    let dot = shop_dot();
    if std::env::var_os("TOPOLINT_UPDATE").is_some() {
        std::fs::write(&dot_path, &dot).unwrap();
        assert!(has_dot(), "TOPOLINT_UPDATE needs Graphviz: {INSTALL_DOT}");
        let (svg, stderr) = render_svg(&dot);
        assert_eq!(stderr, "", "Graphviz warned");
        std::fs::write(&svg_path, svg).unwrap();
    }
    let committed = std::fs::read_to_string(&dot_path).unwrap_or_default();
    assert!(
        committed == dot,
        "docs/shop.dot is stale; rewrite it and docs/shop.svg with `TOPOLINT_UPDATE=1 cargo test --test draw`"
    );
    let svg = std::fs::read_to_string(&svg_path).expect("docs/shop.svg is committed");
    if !require("Graphviz `dot`", has_dot(), INSTALL_DOT) {
        return;
    }
    let (fresh, stderr) = render_svg(&committed);
    assert_eq!(stderr, "", "Graphviz warned on docs/shop.dot");
    if fresh != svg {
        // Another Graphviz version or other fonts move things about; the words must not change.
        assert_eq!(
            svg_texts(&fresh),
            svg_texts(&svg),
            "docs/shop.svg is not the rendering of docs/shop.dot; rewrite it with `TOPOLINT_UPDATE=1 cargo test --test draw`"
        );
        eprintln!(
            "note: docs/shop.svg differs from this Graphviz's rendering in layout only (another version or fonts)"
        );
    }
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_topolint"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_draws_mermaid_by_default_and_dot_on_request() {
    let shop = root().join("fixtures/examples/shop");
    let shop = shop.to_str().unwrap();
    let (code, stdout, stderr) = run(&["graph", shop], &root());
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(stdout.starts_with("flowchart LR\n"), "{stdout}");
    let (code, stdout, _) = run(
        &["graph", shop, "--format", "dot", "--group-by", "owner"],
        &root(),
    );
    assert_eq!(code, 0);
    assert_eq!(stdout, shop_dot());
    let (code, stdout, _) = run(
        &["graph", shop, "--focus", "orders", "--depth", "2"],
        &root(),
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("focus: orders, depth 2"), "{stdout}");
}

#[test]
fn the_command_writes_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let shop = root().join("fixtures/examples/shop");
    let (code, stdout, stderr) = run(
        &[
            "graph",
            shop.to_str().unwrap(),
            "--format",
            "dot",
            "--group-by",
            "owner",
            "--output",
            "shop.dot",
        ],
        dir.path(),
    );
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shop.dot")).unwrap(),
        shop_dot()
    );
    // Only the picture is left behind: the temporary file was renamed into place.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn the_command_fails_cleanly() {
    let shop = root().join("fixtures/examples/shop");
    let shop = shop.to_str().unwrap();
    let (code, stdout, stderr) = run(&["graph", shop, "--focus", "ordres"], &root());
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "topolint: error: --focus: no node is named `ordres`; did you mean `orders`?\n"
    );
    let (code, _, stderr) = run(&["graph", shop, "--focus", "kafka"], &root());
    assert_eq!(code, 2);
    assert!(stderr.contains("`kafka` is a broker"), "{stderr}");
    // A topology that does not load: its problems, then one line, exit 2.
    let bad = root().join("fixtures/invalid/T002-bad-enum.topology.yaml");
    let (code, stdout, stderr) = run(&["graph", bad.to_str().unwrap()], &root());
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("error[T002 invalid-field]"), "{stderr}");
    assert!(
        stderr.ends_with("topolint: error: the topology could not be loaded, so there is nothing to draw; `topolint check` shows why\n"),
        "{stderr}"
    );
    let (code, _, _) = run(&["graph", shop, "--depth", "2"], &root());
    assert_eq!(code, 2, "--depth needs --focus");
}

#[test]
fn a_large_system_draws_deterministically_and_focus_keeps_it_small() {
    let analysis = check_text(&topolint::synth::topology(500, 7));
    assert!(!analysis.has_load_errors());
    let grouped = Options {
        format: Format::Dot,
        group_by: Some(GroupBy::Owner),
        ..Options::default()
    };
    let whole = draw::draw(&analysis, &grouped).unwrap();
    assert_eq!(whole, draw::draw(&analysis, &grouped).unwrap());
    let first = analysis.loaded.model.services[0].name.value.to_string();
    let focused = Options {
        focus: Some(first),
        depth: 1,
        ..grouped
    };
    let picture = draw::picture(&analysis, &focused).unwrap();
    let all = draw::picture(&analysis, &grouped).unwrap();
    assert!(all.nodes.len() >= 500);
    assert!(
        picture.nodes.len() * 10 < all.nodes.len(),
        "{} of {}",
        picture.nodes.len(),
        all.nodes.len()
    );
    if has_dot() {
        let (_, stderr) = render_svg(&draw::draw(&analysis, &focused).unwrap());
        assert_eq!(stderr, "");
    }
}
