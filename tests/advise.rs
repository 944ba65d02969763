//! `topolint advise` as users run it, the weights table in X501's doc, and the shipped examples'
//! advice.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;
use topolint::advise::weights;

const DOC: &str = "lints/X501-style-mismatch.md";
const START: &str = "<!-- weights:start";
const END: &str = "<!-- weights:end -->";

fn topolint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_topolint"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The doc with the generated table put between the markers.
fn doc_with_table(doc: &str) -> String {
    let start = doc.find(START).expect("the start marker");
    let open_end = start + doc[start..].find("-->").unwrap() + "-->".len();
    let end = doc.find(END).expect("the end marker");
    format!(
        "{}\n\n{}\n{}",
        &doc[..open_end],
        weights::table_markdown(),
        &doc[end..]
    )
}

#[test]
fn the_weights_in_the_doc_are_those_of_weights_rs() {
    let doc = std::fs::read_to_string(root().join(DOC)).unwrap();
    assert_committed(DOC, &doc_with_table(&doc), "advise");
}

#[test]
fn explain_x501_prints_the_weights_and_their_reasons() {
    let out = topolint(&root(), &["explain", "X501"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("# X501 style-mismatch"));
    for row in weights::TABLE {
        assert!(
            text.contains(&format!("| `{}` |", row.factor.label())),
            "{}",
            row.factor.label()
        );
        for weight in &row.weights {
            assert!(text.contains(weight.why), "{}", weight.why);
        }
    }
}

fn advise_json(args: &[&str]) -> Value {
    let mut all = vec!["advise", "--format", "json"];
    all.extend_from_slice(args);
    let out = topolint(&root(), &all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn edge<'a>(report: &'a Value, from: &str, to: &str) -> &'a Value {
    report["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == from && e["to"] == to)
        .unwrap_or_else(|| panic!("no edge {from}->{to}"))
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let report = advise_json(&["fixtures/examples/shop"]);
    assert_eq!(report["version"], 1);
    assert_eq!(report["min_advice_margin"], 3);
    let edges = report["edges"].as_array().unwrap();
    // The five edges that declare needs; the calls with only an inferred need are counted.
    assert_eq!(edges.len(), 5);
    assert_eq!(report["omitted"], 6);
    for e in edges {
        for key in [
            "from",
            "to",
            "edge",
            "path",
            "file",
            "span",
            "declared",
            "recommendation",
            "runner_up",
            "margin",
            "uncertain",
            "advice",
            "scores",
            "vetoed",
            "inferred",
            "reasons",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
        assert!(e["span"]["line"].as_u64().unwrap() >= 1);
        // Every factor's contribution adds up to the scores.
        for (style, score) in e["scores"].as_object().unwrap() {
            let sum: i64 = e["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["style"] == style.as_str())
                .map(|r| r["weight"].as_i64().unwrap())
                .sum();
            assert_eq!(Some(sum), score.as_i64(), "{style} of {e}");
        }
    }
    let orders = edge(&report, "storefront", "orders");
    assert_eq!(orders["edge"], "calls");
    assert_eq!(orders["path"], "services.storefront.calls[2]");
    assert_eq!(orders["file"], "fixtures/examples/shop/web.topology.yaml");
    assert_eq!(orders["declared"], "sync");
    assert_eq!(orders["recommendation"], "sync");
    assert_eq!(orders["runner_up"], "request-reply");
    let vetoed: Vec<&str> = orders["vetoed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["style"].as_str().unwrap())
        .collect();
    assert_eq!(vetoed, ["async", "async", "cqrs-lite"]);
    let placed = edge(&report, "orders", "order-events");
    assert_eq!(placed["recommendation"], "async");
    assert_eq!(placed["vetoed"][0]["style"], "sync");
    let fraud = edge(&report, "orders", "fraud-requests");
    assert_eq!(fraud["recommendation"], "request-reply");
    let catalog = edge(&report, "storefront", "catalog");
    assert_eq!(catalog["uncertain"], true);
    assert!(
        catalog["advice"]
            .as_str()
            .unwrap()
            .starts_with("uncertain: start synchronous")
    );
    // No edge of the examples disagrees with its needs.
    assert!(edges.iter().all(|e| e["mismatch"] == false));
}

#[test]
fn all_lists_the_inferred_calls_with_their_label() {
    let report = advise_json(&["--all", "fixtures/examples/shop"]);
    assert_eq!(report["omitted"], 0);
    let cart = edge(&report, "storefront", "cart");
    assert_eq!(cart["inferred"], serde_json::json!(["user_waits: true"]));
    assert!(
        cart["vetoed"][0]["because"]
            .as_str()
            .unwrap()
            .contains("(inferred)")
    );
    // Deeper in the chain, still over calls alone.
    let loyalty = edge(&report, "promotions", "loyalty");
    assert_eq!(loyalty["inferred"], serde_json::json!(["user_waits: true"]));
    assert_eq!(loyalty["recommendation"], "sync");
}

/// The architecture decision record of the shop's "place order" call.
#[test]
fn the_markdown_record_of_the_place_order_call() {
    let out = topolint(
        &root(),
        &[
            "advise",
            "fixtures/examples/shop",
            "--edge",
            "storefront->orders",
            "--format",
            "markdown",
        ],
    );
    assert!(out.status.success());
    let text = stdout(&out);
    for section in [
        "# storefront -> orders: sync\n",
        "## Context",
        "## Options considered",
        "## Decision",
        "## Consequences",
    ] {
        assert!(text.contains(section), "no `{section}` in\n{text}");
    }
    insta::assert_snapshot!("shop_place_order_record", text);
}

#[test]
fn the_markdown_records_name_what_each_style_needs() {
    let out = topolint(
        &root(),
        &["advise", "fixtures/examples/shop", "--format", "markdown"],
    );
    let text = stdout(&out);
    let records: Vec<&str> = text.split("\n# ").collect();
    assert_eq!(records.len(), 5, "{text}");
    let record = |title: &str| {
        *records
            .iter()
            .find(|r| r.trim_start_matches("# ").starts_with(title))
            .unwrap_or_else(|| panic!("no record {title}"))
    };
    // Sync: timeouts and breakers; async: idempotency, dead letters, depth alerts, outbox;
    // request-reply: a reply channel and a timeout.
    let sync = record("orders -> inventory: sync");
    assert!(sync.contains("S102") && sync.contains("S103"));
    let async_ = record("orders -> order-events: async");
    for code in ["A201", "A202", "A203", "D401"] {
        assert!(async_.contains(code), "{code}");
    }
    let rr = record("orders -> fraud-requests: request-reply");
    assert!(rr.contains("A208") && rr.contains("S102"));
}

#[test]
fn edge_selects_one_edge_and_unknown_edges_are_errors() {
    let report = advise_json(&["fixtures/examples/shop", "--edge", "orders->order-events"]);
    // Two publishes from orders to order-events: OrderPlaced (needs) and OrderCancelled (none).
    let edges = report["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[1]["path"], "services.orders.publishes[1]");
    assert_eq!(edges[1]["uncertain"], true);
    let out = topolint(
        &root(),
        &[
            "advise",
            "fixtures/examples/shop",
            "--edge",
            "storefront->ordrs",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `storefront->orders`"), "{err}");
    let out = topolint(
        &root(),
        &["advise", "fixtures/examples/shop", "--edge", "storefront"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_writes_a_file_and_a_broken_topology_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("advice.md");
    let out = topolint(
        &root(),
        &[
            "advise",
            "fixtures/examples/small.topology.yaml",
            "--format",
            "markdown",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# gateway -> click-events: async\n"),
        "{text}"
    );
    std::fs::write(
        dir.path().join("bad.topology.yaml"),
        "topolint: 1\nservices: [\n",
    )
    .unwrap();
    let out = topolint(dir.path(), &["advise", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("T001"));
}

#[test]
fn the_margin_comes_from_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("topology.yaml"),
        "topolint: 1
services:
  a:
    calls: [{ to: b, timeout: 1s, circuit_breaker: true, needs: { user_waits: true, decoupling: true } }]
  b: {}
",
    )
    .unwrap();
    // request-reply 5, sync 0: a gap of 5.
    let out = topolint(dir.path(), &["check", "."]);
    assert!(stdout(&out).contains("X501"), "{}", stdout(&out));
    std::fs::write(
        dir.path().join("topolint.toml"),
        "[lint]\nmin-advice-margin = 5\n",
    )
    .unwrap();
    let out = topolint(dir.path(), &["check", "."]);
    assert!(!stdout(&out).contains("X501"), "{}", stdout(&out));
    let out = topolint(dir.path(), &["advise", ".", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["min_advice_margin"], 5);
    // request-reply leads cqrs-lite by 3 only, now below the margin.
    assert_eq!(report["edges"][0]["uncertain"], true);
}

#[test]
fn the_examples_give_no_advice_rule_findings() {
    for example in [
        "fixtures/examples/shop",
        "fixtures/examples/small.topology.yaml",
    ] {
        let analysis = check(&[root().join(example)]);
        let advice: Vec<_> = analysis
            .diagnostics
            .iter()
            .chain(analysis.suppressed.iter().map(|s| &s.diagnostic))
            .filter(|d| d.code.starts_with('X'))
            .map(|d| &d.message)
            .collect();
        assert!(advice.is_empty(), "{example}: {advice:#?}");
    }
}
