//! S105 timeout-inversion: a caller gives up before the callee has had the time its own
//! dependencies allow it.

use petgraph::graph::NodeIndex;

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::{Duration, NodeKind};

use super::Context;
use super::identity::AtItem;
use super::sync_common::{attempts, call, human};

pub const META: RuleMeta = RuleMeta {
    code: "S105",
    name: "timeout-inversion",
    severity: Severity::Warning,
    summary: "a call's timeout is shorter than the callee's own worst case",
};

/// Terms of a callee's worst case named in a message; the rest are summed up.
const SHOWN_TERMS: usize = 5;

/// One term of a callee's worst case: a call or request of its own with a timeout.
struct Term {
    text: String,
    micros: u64,
}

/// The terms of a callee's worst case, in file order: over its calls and requests that have a
/// timeout, timeout × attempts (a request waits once). Local: it looks one level down. Gives the
/// sum of all terms, how many there are, and the first `shown` of them.
fn terms(cx: &Context, callee: NodeIndex, shown: usize) -> (u64, usize, Vec<Term>) {
    let mut total = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    let node = cx.graph.node_ref(callee);
    if node.kind != NodeKind::Service {
        return (total, count, out);
    }
    let service = &cx.model.services[node.index as usize];
    for c in &service.calls {
        if let Some(t) = &c.options.timeout {
            let n = attempts(&c.options);
            let micros = t.value.0.saturating_mul(n);
            total = total.saturating_add(micros);
            count += 1;
            if out.len() < shown {
                let text = if n > 1 {
                    format!("{} {} × {n} attempts", c.to.value, t.value)
                } else {
                    format!("{} {}", c.to.value, t.value)
                };
                out.push(Term { text, micros });
            }
        }
    }
    for r in &service.requests {
        if let Some(t) = &r.options.timeout {
            total = total.saturating_add(t.value.0);
            count += 1;
            if out.len() < shown {
                let text = format!("request on {} {}", r.to.value, t.value);
                out.push(Term {
                    text,
                    micros: t.value.0,
                });
            }
        }
    }
    (total, count, out)
}

/// `p99 50ms + card-provider 300ms × 2 attempts`: at most [`SHOWN_TERMS`] terms, the rest summed.
fn explain(own: Duration, downstream: u64, shown: &[Term], count: usize) -> String {
    let mut parts = Vec::new();
    if own.0 > 0 {
        parts.push(format!("p99 {own}"));
    }
    let room = SHOWN_TERMS - parts.len();
    let named = shown.len().min(room);
    if count > room {
        // Keep one slot for the sum of the rest.
        let named = room - 1;
        parts.extend(shown[..named].iter().map(|t| t.text.clone()));
        let rest = downstream - shown[..named].iter().map(|t| t.micros).sum::<u64>();
        parts.push(format!("{} more {}", count - named, human(rest)));
    } else {
        parts.extend(shown[..named].iter().map(|t| t.text.clone()));
    }
    parts.join(" + ")
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    // Every callee's worst case, in one pass over the services and externals in model order (on
    // demand, it was a cache miss or more per callee); explanations are written once per callee
    // that has findings, so the check stays linear however many callers share a callee.
    // A callee's calls are read from the call facts (side by side in the order of the sync
    // analysis), its latency and requests from the model.
    let (sync, facts) = (cx.sync(), cx.call_facts());
    let worst: Vec<u64> = (0..cx.model.services.len() + cx.model.externals.len())
        .map(|i| {
            let node = NodeIndex::new(i);
            let calls = sync.calls_with(node).fold(0u64, |sum, c| {
                sum.saturating_add(facts.wait(c.at).unwrap_or(0))
            });
            let requests = match cx.model.services.get(i) {
                Some(service) => service
                    .requests
                    .iter()
                    .filter_map(|r| r.options.timeout.as_ref())
                    .fold(0u64, |sum, t| sum.saturating_add(t.value.0)),
                None => 0,
            };
            let own = facts.p99(node).0;
            own.saturating_add(calls).saturating_add(requests)
        })
        .collect();
    let mut explained: FxHashMap<u32, (String, String, String)> = FxHashMap::default();
    for (si, service) in cx.model.services.iter().enumerate() {
        let caller = cx.graph.service_node(si);
        for c in sync.calls_with(caller) {
            let Some(timeout) = facts.timeout(c.at) else {
                continue;
            };
            let (e, callee) = (c.edge, c.callee);
            let w = worst[callee.index()];
            if timeout.0 >= w {
                continue;
            }
            let edge = cx.graph.graph[e];
            let c = call(cx, edge);
            // What every finding on this callee shares, written once: its worst case as a person
            // reads it, the sum behind it, and the fix's second half.
            let (w, explanation, fix) = explained
                .entry(callee.index() as u32)
                .or_insert_with(|| {
                    let (downstream, count, shown) = terms(cx, callee, SHOWN_TERMS);
                    let to = cx.graph.name(cx.model, callee);
                    let fix = if count > 0 {
                        format!("shrink what {to} may wait for: shorter timeouts or fewer retries on its own calls")
                    } else {
                        format!("make {to} faster")
                    };
                    (
                        human(w),
                        explain(facts.p99(callee), downstream, &shown, count),
                        fix,
                    )
                });
            let from = &service.name.value;
            let to = cx.graph.name(cx.model, callee);
            let t = timeout.to_string();
            // Texts joined from their pieces in one allocation of their size: this rule writes
            // most of a large topology's findings, and `format!` took a tenth of its time.
            let message = [
                from,
                " gives up on ",
                to,
                " after ",
                &t,
                ", but ",
                to,
                " may take ",
                w,
                " (",
                explanation,
                ")",
            ];
            let help = [
                "when ",
                from,
                " gives up first, ",
                to,
                " goes on working for an answer nobody reads, and a retry starts a second copy: raise this call's timeout to at least ",
                w,
                " (`timeout: ",
                w,
                "`), or ",
                fix,
            ];
            let d = Diagnostic::new(&META, c.span, message.concat())
                .label(["timeout ", &t, " < ", w].concat())
                .help(help.concat());
            out.push(d.at_item(service, "calls", edge.item as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    const YAML: &str = "topolint: 1
services:
  web:
    calls:
      - { to: orders, timeout: 500ms }
      - { to: orders, timeout: 650ms }
      - { to: leaf, timeout: 10ms }
      - { to: slow-api, timeout: 100ms }
      - { to: asker, timeout: 1s }
  orders:
    latency: { p50: 15ms, p99: 50ms }
    calls:
      - { to: card, timeout: 300ms, retries: 1 }
      - { to: leaf }
  leaf: {}
  asker:
    latency: { p99: 100ms }
    requests:
      - { to: q, reply: r, timeout: 950ms }
externals:
  card: {}
  slow-api: { latency: { p99: 200ms } }
channels:
  q: {}
  r: {}
";

    #[test]
    fn compares_the_timeout_with_the_callee_worst_case() {
        let found = run(check, YAML);
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "web gives up on orders after 500ms, but orders may take 650ms (p99 50ms + card 300ms × 2 attempts)",
                "web gives up on slow-api after 100ms, but slow-api may take 200ms (p99 200ms)",
                "web gives up on asker after 1s, but asker may take 1.05s (p99 100ms + request on q 950ms)",
            ]
        );
        assert_eq!(found[0].path.as_deref(), Some("services.web.calls[0]"));
    }

    #[test]
    fn long_sums_are_cut_short() {
        let shown: Vec<_> = (0..5)
            .map(|i| Term {
                text: format!("s{i} 1s"),
                micros: 1_000_000,
            })
            .collect();
        assert_eq!(
            explain(Duration(10_000), 8_000_000, &shown, 8),
            "p99 10ms + s0 1s + s1 1s + s2 1s + 5 more 5s"
        );
        assert_eq!(
            explain(Duration(0), 5_000_000, &shown, 5),
            "s0 1s + s1 1s + s2 1s + s3 1s + s4 1s"
        );
    }
}
