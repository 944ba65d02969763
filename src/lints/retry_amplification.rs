//! S104 retry-amplification: retries on several hops of a synchronous path multiply.

use petgraph::graph::{EdgeIndex, NodeIndex};

use crate::graph::SyncAnalysis;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::identity::AtItem;
use super::sync_common::{SHOWN_HOPS, attempts, call, ends, path_names};

pub const META: RuleMeta = RuleMeta {
    code: "S104",
    name: "retry-amplification",
    severity: Severity::Warning,
    summary: "the attempts (retries + 1) multiplied along a synchronous path exceed `max-retry-amplification`",
};

/// For each component of the call graph, the largest product of attempts over the paths that
/// reach it, and where that path comes from.
struct Reach {
    /// Largest product of attempts reaching the component (1 when nothing calls it).
    product: Vec<u64>,
    /// The last call of that path, as its place among all calls ([`NO_CALL`] for none): the
    /// call is read there, and ties are broken by it (`CallFacts::before`). Kept in four bytes,
    /// like the length: the arrays hold an entry per component.
    pred_at: Vec<u32>,
    /// The node the path starts at.
    origin: Vec<Option<NodeIndex>>,
    /// The number of calls on that path.
    length: Vec<u32>,
}

const NO_CALL: u32 = u32::MAX;

impl Reach {
    /// The last call of the path reaching component `c`.
    fn pred(&self, sync: &SyncAnalysis, c: usize) -> Option<EdgeIndex> {
        let at = self.pred_at[c];
        (at != NO_CALL).then(|| sync.all_calls()[at as usize].0)
    }
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let sync = cx.sync();
    let facts = cx.call_facts();
    let limit = cx.settings.max_retry_amplification;
    let n = sync.callable();
    let mut reach = Reach {
        product: vec![1; n],
        pred_at: vec![NO_CALL; n],
        origin: vec![None; n],
        length: vec![0; n],
    };
    let mut found = Vec::new();
    // Tarjan lists components sinks first: walked in reverse, every caller is final before its
    // callees. Calls inside a component add no attempts (a cycle is S107's finding).
    for id in (0..n).rev() {
        let here = reach.product[id];
        for &member in sync.members(id) {
            for call in sync.calls_with(member) {
                let (e, t) = (call.edge, call.component);
                if t == id {
                    continue;
                }
                let product = here.saturating_mul(facts.attempts[call.at]);
                if here <= limit && product > limit {
                    found.push((e, product));
                }
                let pred = reach.pred_at[t];
                let better = product > reach.product[t]
                    || product == reach.product[t]
                        && (pred == NO_CALL || facts.before(cx, call.at, pred as usize));
                if better {
                    reach.product[t] = product;
                    reach.pred_at[t] = call.at as u32;
                    reach.origin[t] = Some(reach.origin[id].unwrap_or(member));
                    reach.length[t] = reach.length[id] + 1;
                }
            }
        }
    }
    for (e, product) in found {
        out.push(diagnostic(cx, &reach, e, product, limit));
    }
}

fn diagnostic(cx: &Context, reach: &Reach, e: EdgeIndex, product: u64, limit: u64) -> Diagnostic {
    let sync = cx.sync();
    let component = |n: NodeIndex| sync.component[n.index()] as usize;
    // The path back to where it starts, through the predecessor pointers; a long one keeps its
    // last hops and summarises the rest.
    let mut hops = vec![e];
    let (source, _) = ends(cx, e);
    let mut at = component(source);
    while let Some(p) = reach.pred(sync, at) {
        if hops.len() == SHOWN_HOPS {
            break;
        }
        hops.push(p);
        at = component(ends(cx, p).0);
    }
    hops.reverse();
    let first_from = ends(cx, hops[0]).0;
    // Not shown: the calls before `at`, whose attempts multiply to `reach.product[at]`.
    let (start, elided) = match reach.pred(sync, at) {
        Some(_) => (
            reach.origin[at].expect("a component with a predecessor has an origin"),
            reach.length[at] as usize,
        ),
        None => (first_from, 0),
    };
    let mut factors: Vec<String> = Vec::new();
    if elided > 0 {
        factors.push(format!("{} ({elided} earlier calls)", reach.product[at]));
    }
    factors.extend(
        hops.iter()
            .map(|&h| attempts(&call(cx, cx.graph.graph[h]).options).to_string()),
    );
    let path = path_names(cx, start, &hops, elided);
    let (from, to) = ends(cx, e);
    let (from, to) = (cx.graph.name(cx.model, from), cx.graph.name(cx.model, to));
    let edge = cx.graph.graph[e];
    let here = attempts(&call(cx, edge).options);
    let mut d = Diagnostic::new(
        &META,
        cx.graph.edge_span(cx.model, edge),
        format!(
            "{path}: {} = {product} attempts reach {to} for one request, the limit is {limit}",
            factors.join(" × ")
        ),
    )
    .label(format!("{here} attempts here make {product} in all"))
    .help(format!(
        "every layer retries on its own, so when {to} struggles it receives {product} requests for each one at the top: retry at one layer only, usually the one next to the failing dependency, with backoff and a retry budget (`retries: {{ max: 2, backoff: exponential, budget: 10% }}`), and let the layers above fail fast (remove their `retries:`); here {from} → {to} makes {here} attempts"
    ))
    .at_call(cx.model, edge);
    let count = hops.len();
    // The last hop is the primary span.
    for (i, &h) in hops.iter().enumerate().take(count - 1) {
        let (a, b) = ends(cx, h);
        let hop = cx.graph.graph[h];
        d = d.related(
            cx.graph.edge_span(cx.model, hop),
            format!(
                "hop {} of {count}: {} → {}, {} attempts",
                i + 1,
                cx.graph.name(cx.model, a),
                cx.graph.name(cx.model, b),
                attempts(&call(cx, hop).options)
            ),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::Settings;
    use crate::lints::sync_common::test::{run, run_with};

    #[test]
    fn reports_where_the_product_first_exceeds_the_limit() {
        let found = run(
            check,
            "topolint: 1
services:
  storefront: { calls: [{ to: orders, timeout: 3s, retries: 2 }] }
  orders: { calls: [{ to: stock, timeout: 1s, retries: 2 }] }
  stock: { calls: [{ to: warehouse, timeout: 200ms, retries: 3 }] }
  warehouse: { calls: [{ to: disk, timeout: 50ms, retries: 5 }] }
  disk: {}
",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].message,
            "storefront → orders → stock → warehouse: 3 × 3 × 4 = 36 attempts reach warehouse for one request, the limit is 10"
        );
        assert_eq!(found[0].path.as_deref(), Some("services.stock.calls[0]"));
        assert_eq!(found[0].related.len(), 2);
        assert_eq!(
            found[0].related[0].label,
            "hop 1 of 3: storefront → orders, 3 attempts"
        );
    }

    #[test]
    fn equal_to_the_limit_is_fine_and_the_limit_is_a_setting() {
        let yaml = "topolint: 1
defaults:
  calls: { timeout: 1s, retries: 1 }
services:
  a: { calls: [{ to: b, retries: 4 }] }
  b: { calls: [{ to: c }] }
  c: {}
";
        assert!(run(check, yaml).is_empty());
        let settings = Settings {
            max_retry_amplification: 5,
            ..Settings::default()
        };
        let found = run_with(check, &settings, yaml);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "a → b → c: 5 × 2 = 10 attempts reach c for one request, the limit is 5"
        );
    }

    #[test]
    fn a_cycle_counts_as_one_node() {
        let found = run(
            check,
            "topolint: 1
defaults:
  calls: { timeout: 1s, retries: 2 }
services:
  a: { calls: [{ to: b }] }
  b: { calls: [{ to: c }] }
  c: { calls: [{ to: b }, { to: d, retries: 0 }] }
  d: { calls: [{ to: e }] }
  e: {}
",
        );
        // a → b (3), the b ⇄ c cycle adds nothing, c → d (1), d → e (3): 9, within the limit.
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn long_paths_are_summarised() {
        let mut yaml = String::from("topolint: 1\nservices:\n");
        for i in 0..30 {
            let retries = match i {
                0 => 2,
                29 => 3,
                _ => 0,
            };
            yaml.push_str(&format!(
                "  s{i}: {{ calls: [{{ to: s{}, timeout: 1s, retries: {retries} }}] }}\n",
                i + 1
            ));
        }
        yaml.push_str("  s30: {}\n");
        let found = run(check, &yaml);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .starts_with("s0 → … 18 calls … → s18 → s19 →"),
            "{}",
            found[0].message
        );
        assert!(
            found[0]
                .message
                .ends_with("→ s30: 3 (18 earlier calls) × 1 × 1 × 1 × 1 × 1 × 1 × 1 × 1 × 1 × 1 × 1 × 4 = 12 attempts reach s30 for one request, the limit is 10"),
            "{}",
            found[0].message
        );
    }
}
