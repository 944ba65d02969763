//! Graph shapes that break naive implementations: a very long chain (recursion depth, quadratic
//! chain printing) and cycles inside chains.

mod common;

use std::fmt::Write;

/// `n` services in one chain, each user-facing, each calling the next with a timeout and breaker.
fn chain(n: usize) -> String {
    let mut s = String::from("topolint: 1\nservices:\n");
    for i in 0..n {
        let _ = writeln!(s, "  s{i}:\n    user_facing: true");
        if i + 1 < n {
            let _ = writeln!(
                s,
                "    calls: [{{ to: s{}, timeout: 1s, circuit_breaker: true }}]",
                i + 1
            );
        }
    }
    s
}

#[test]
fn a_chain_of_50k_services_is_linted_without_overflow_and_with_bounded_messages() {
    let n = 50_000;
    let analysis = common::check_text(&chain(n));
    let s101: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == "S101")
        .collect();
    // Every service whose chain has more than 3 calls: s0 .. s(n-5).
    assert_eq!(s101.len(), n - 4);
    let first = s101.iter().find(|d| d.message.starts_with("s0 →")).unwrap();
    assert!(
        first
            .message
            .contains(&format!("{} synchronous calls", n - 1)),
        "{}",
        first.message
    );
    assert!(
        first.message.contains(&format!("→ s{}:", n - 1)),
        "the chain's end is named: {}",
        first.message
    );
    assert!(
        s101.iter()
            .all(|d| d.message.len() < 400 && d.related.len() <= 12)
    );
}

#[test]
fn cycles_count_as_one_hop_for_chain_depth() {
    // web → a ⇄ b → c → d: the cycle a/b adds no depth, so the chain is web, a, c, d = 3 calls.
    let yaml = "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: a, timeout: 1s, circuit_breaker: true }]
  a:
    calls: [{ to: b, timeout: 1s, circuit_breaker: true }]
  b:
    calls:
      - { to: a, timeout: 1s, circuit_breaker: true }
      - { to: c, timeout: 1s, circuit_breaker: true }
  c:
    calls: [{ to: d, timeout: 1s, circuit_breaker: true }]
  d: {}
";
    let analysis = common::check_text(yaml);
    let codes = common::codes(&analysis);
    assert!(codes.contains(&"S107"), "{codes:?}");
    assert!(
        !codes.contains(&"S101"),
        "a cycle must not add depth: {:?}",
        analysis.diagnostics
    );
}
