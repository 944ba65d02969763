//! S110 budget-not-enforced: the timeouts on an entrypoint's paths let a request wait longer than
//! its budget.
//!
//! The worst case of a path is the entrypoint's p99 plus, for each call on it, timeout × attempts:
//! every hop waits its full timeout on every attempt. A call without a timeout makes the worst case
//! unbounded: nothing stops a request there, so the rule fires and names that call (S102 reports
//! the missing timeout itself).

use petgraph::graph::EdgeIndex;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::sync_common::{SHOWN_HOPS, attempts, call, ends, human, path_names, wait};

pub const META: RuleMeta = RuleMeta {
    code: "S110",
    name: "budget-not-enforced",
    severity: Severity::Info,
    summary: "an entrypoint's `budget` is smaller than what its timeouts let a request wait",
};

/// The longest wait along the paths leaving a component. `Unbounded` sorts above every bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Wait {
    /// Microseconds.
    Bounded(u64),
    /// A call without a timeout lies ahead.
    Unbounded,
}

impl Wait {
    fn plus(self, micros: Option<u64>) -> Wait {
        match (self, micros) {
            (Wait::Bounded(a), Some(b)) => Wait::Bounded(a.saturating_add(b)),
            _ => Wait::Unbounded,
        }
    }
}

/// For each component of the call graph, the worst path leaving it: its wait, its first call,
/// and the first call without a timeout on it.
struct Worst {
    wait: Vec<Wait>,
    next: Vec<Option<EdgeIndex>>,
    untimed: Vec<Option<EdgeIndex>>,
}

/// `timeout × attempts` of a call in microseconds, `None` without a timeout.
fn wait_of(cx: &Context, e: EdgeIndex) -> Option<u64> {
    let options = &call(cx, cx.graph.graph[e]).options;
    wait(options.timeout.as_ref().map(|t| t.value), attempts(options))
}

fn worst(cx: &Context) -> Worst {
    let sync = cx.sync();
    let facts = cx.call_facts();
    let n = sync.callable();
    let mut w = Worst {
        wait: vec![Wait::Bounded(0); n],
        next: vec![None; n],
        untimed: vec![None; n],
    };
    // Tarjan lists components sinks first: every callee is final before its callers. Calls inside
    // a cycle add nothing (the cycle is S107's finding).
    for (id, members) in sync.callable_components() {
        // The chosen call's place among all calls, for breaking ties.
        let mut chosen = 0;
        for &member in members {
            for call in sync.calls_with(member) {
                let (e, t, k) = (call.edge, call.component, call.at);
                if t == id {
                    continue;
                }
                let own = facts.wait(k);
                let total = w.wait[t].plus(own);
                let better = w.next[id].is_none()
                    || total > w.wait[id]
                    || total == w.wait[id] && facts.before(cx, k, chosen);
                if better {
                    chosen = k;
                    w.wait[id] = total;
                    w.next[id] = Some(e);
                    w.untimed[id] = if own.is_none() { Some(e) } else { w.untimed[t] };
                }
            }
        }
    }
    w
}

/// One call of the path as a term of the sum: `orders 2s` or `orders 300ms × 3 attempts`.
fn term(cx: &Context, e: EdgeIndex) -> String {
    let c = call(cx, cx.graph.graph[e]);
    let to = &c.to.value;
    match &c.options.timeout {
        Some(t) => match attempts(&c.options) {
            1 => format!("{to} {}", t.value),
            n => format!("{to} {} × {n} attempts", t.value),
        },
        None => format!("{to} (no timeout)"),
    }
}

/// The YAML for the first call of the path when it alone waits longer than `room` (the budget
/// less the entrypoint's p99): its timeout, split over its attempts.
fn first_step(cx: &Context, hops: &[EdgeIndex], room: u64) -> String {
    let Some(&first) = hops.first() else {
        return String::new();
    };
    let c = call(cx, cx.graph.graph[first]);
    let n = attempts(&c.options);
    match wait_of(cx, first) {
        Some(wait) if wait > room && room >= 1_000 * n => {
            let each = (room / n / 1_000) * 1_000;
            let (from, to) = ends(cx, first);
            format!(
                " (the call from {} to {} alone may wait {}: `timeout: {}` at most there)",
                cx.graph.name(cx.model, from),
                cx.graph.name(cx.model, to),
                human(wait),
                human(each)
            )
        }
        _ => String::new(),
    }
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if cx.model.services.iter().all(|s| s.budget.is_none()) {
        return;
    }
    let sync = cx.sync();
    let w = worst(cx);
    for (si, service) in cx.model.services.iter().enumerate() {
        let Some(budget) = &service.budget else {
            continue;
        };
        let entry = cx.graph.service_node(si);
        let own = cx.call_facts().p99(entry).0;
        let id = sync.component[entry.index()] as usize;
        let total = w.wait[id].plus(Some(own));
        if total <= Wait::Bounded(budget.value.0) {
            continue;
        }
        // The path, up to the call without a timeout when there is one; a long one is cut short
        // and the rest of its sum given as one term.
        let mut hops = Vec::new();
        let mut at = id;
        while let Some(e) = w.next[at] {
            if hops.len() == SHOWN_HOPS {
                break;
            }
            hops.push(e);
            if Some(e) == w.untimed[id] {
                break;
            }
            at = sync.component[ends(cx, e).1.index()] as usize;
        }
        let name = &service.name.value;
        let path = path_names(cx, entry, &hops, 0);
        let cut = hops.len() == SHOWN_HOPS && w.next[at].is_some() && w.untimed[id].is_none();
        let mut d = match (total, w.untimed[id]) {
            (Wait::Bounded(total), _) => {
                let mut terms = Vec::new();
                if own > 0 {
                    terms.push(format!("{name} p99 {}", human(own)));
                }
                terms.extend(hops.iter().map(|&e| term(cx, e)));
                if cut {
                    let rest = match w.wait[at] {
                        Wait::Bounded(r) => r,
                        Wait::Unbounded => unreachable!("the path has a bound"),
                    };
                    terms.push(format!("{} for the rest of the path", human(rest)));
                }
                let longer = if cut { " → …" } else { "" };
                Diagnostic::new(
                    &META,
                    service.name.span,
                    format!(
                        "{name}'s budget of {} is below the worst case of {} that its timeouts allow along {path}{longer}: {}",
                        budget.value,
                        human(total),
                        terms.join(" + ")
                    ),
                )
                .label(format!("budget {}, worst case {}", budget.value, human(total)))
                .help(format!(
                    "when a dependency hangs, a request waits every timeout on this path instead of failing within the budget: shrink the timeouts from the bottom of the chain up (and drop retries above the bottom) until {} + the timeouts × attempts along the path fit in {}{}, or raise `budget:`",
                    human(own),
                    budget.value,
                    first_step(cx, &hops, budget.value.0.saturating_sub(own))
                ))
            }
            (Wait::Unbounded, Some(untimed)) => {
                let (from, to) = ends(cx, untimed);
                let (from, to) = (cx.graph.name(cx.model, from), cx.graph.name(cx.model, to));
                let shown = if hops.last() == Some(&untimed) {
                    path
                } else {
                    format!("{path} → …")
                };
                Diagnostic::new(
                    &META,
                    service.name.span,
                    format!(
                        "nothing bounds how long a request to {name} may wait, against a budget of {}: the call from {from} to {to} on {shown} has no timeout",
                        budget.value
                    ),
                )
                .label(format!("budget {}, worst case unbounded", budget.value))
                .help(format!(
                    "a hung {to} holds this request for ever: add a timeout to the call from {from} to {to} (`timeout: {}` at most, less what the calls above it wait), then keep {} + the timeouts × attempts along the path within {}",
                    human(budget.value.0.saturating_sub(own).max(1_000)),
                    human(own),
                    budget.value
                ))
            }
            (Wait::Unbounded, None) => unreachable!("an unbounded wait has a call without a timeout"),
        }
        .path(format!("services.{name}"));
        for (i, &e) in hops.iter().enumerate() {
            let (a, b) = ends(cx, e);
            d = d.related(
                cx.graph.edge_span(cx.model, cx.graph.graph[e]),
                format!(
                    "hop {}: {} → {}, {}",
                    i + 1,
                    cx.graph.name(cx.model, a),
                    cx.graph.name(cx.model, b),
                    match wait_of(cx, e) {
                        Some(micros) => format!("waits up to {}", human(micros)),
                        None => "no timeout".to_string(),
                    }
                ),
            );
        }
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    #[test]
    fn sums_the_timeouts_of_the_worst_path() {
        let found = run(
            check,
            "topolint: 1
services:
  storefront:
    latency: { p50: 5ms, p99: 20ms }
    budget: 500ms
    calls:
      - { to: search, timeout: 300ms }
      - { to: orders, timeout: 2s }
  orders:
    calls:
      - { to: stock, timeout: 300ms, retries: 2 }
  stock: {}
  search: {}
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "storefront's budget of 500ms is below the worst case of 2.92s that its timeouts allow along storefront → orders → stock: storefront p99 20ms + orders 2s + stock 300ms × 3 attempts"
        );
        assert_eq!(found[0].path.as_deref(), Some("services.storefront"));
        assert_eq!(found[0].related.len(), 2);
    }

    #[test]
    fn equal_is_fine() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    latency: { p99: 20ms }
    budget: 500ms
    calls: [{ to: api, timeout: 240ms, retries: 1 }]
  api: {}
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn a_call_without_a_timeout_makes_it_unbounded() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    budget: 10s
    calls:
      - { to: api, timeout: 100ms }
      - { to: cache, timeout: 5s }
  api: { calls: [{ to: db-proxy }] }
  db-proxy: { calls: [{ to: disk, timeout: 1s }] }
  cache: {}
  disk: {}
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "nothing bounds how long a request to web may wait, against a budget of 10s: the call from api to db-proxy on web → api → db-proxy has no timeout"
        );
    }

    #[test]
    fn a_cycle_on_the_path_adds_nothing() {
        let found = run(
            check,
            "topolint: 1
defaults:
  calls: { timeout: 100ms }
services:
  web: { budget: 250ms, calls: [{ to: a }] }
  a: { calls: [{ to: b }] }
  b: { calls: [{ to: a }, { to: c }] }
  c: {}
",
        );
        // web → a (100ms), the a ⇄ b cycle adds nothing, b → c (100ms): 200ms.
        assert!(found.is_empty(), "{found:#?}");
    }
}
