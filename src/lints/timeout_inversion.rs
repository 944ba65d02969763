//! S105 timeout-inversion: a caller gives up before the callee has had the time its own
//! dependencies allow it.

use std::fmt::Write;

use petgraph::graph::NodeIndex;

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::{Duration, NodeKind};

use super::Context;
use super::identity::AtItem;
use super::sync_common::{call, human};

pub const META: RuleMeta = RuleMeta {
    code: "S105",
    name: "timeout-inversion",
    severity: Severity::Warning,
    summary: "a call's timeout is shorter than the callee's own worst case",
};

/// Terms of a callee's worst case named in a message; the rest are summed up.
const SHOWN_TERMS: usize = 5;

/// One term of a callee's worst case: a call or request of its own with a timeout.
#[derive(Clone, Copy)]
enum Term<'m> {
    /// A call: its callee, its timeout and its attempts.
    Call(&'m str, Duration, u64),
    /// A request: its channel and its timeout (a request waits once).
    Request(&'m str, Duration),
}

impl Term<'_> {
    fn micros(self) -> u64 {
        match self {
            Term::Call(_, t, n) => t.0.saturating_mul(n),
            Term::Request(_, t) => t.0,
        }
    }

    /// `card 300ms × 2 attempts`, `request on q 950ms`.
    fn write(self, out: &mut String) {
        // Writing to a `String` cannot fail.
        let _ = match self {
            Term::Call(to, t, 1) => write!(out, "{to} {t}"),
            Term::Call(to, t, n) => write!(out, "{to} {t} × {n} attempts"),
            Term::Request(on, t) => write!(out, "request on {on} {t}"),
        };
    }
}

/// The terms of a callee's worst case, in file order: over its calls and requests that have a
/// timeout, timeout × attempts. Local: it looks one level down. Gives the sum of all terms, how
/// many there are, and the first `shown` of them. Its calls' timeouts and attempts are read
/// from the call facts, in the order of its list; its requests from the model.
fn terms<'m>(cx: &Context<'m>, callee: NodeIndex, shown: usize) -> (u64, usize, Vec<Term<'m>>) {
    let mut total = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    let node = cx.graph.node_ref(callee);
    if node.kind != NodeKind::Service {
        return (total, count, out);
    }
    let service = &cx.model.services[node.index as usize];
    let facts = cx.call_facts();
    let calls = cx.sync().calls_with(callee).filter_map(|c| {
        let t = facts.timeout(c.at)?;
        let to = cx.graph.name(cx.model, c.callee);
        Some(Term::Call(to, t, facts.attempts[c.at]))
    });
    let requests = service.requests.iter().filter_map(|r| {
        let t = r.options.timeout.as_ref()?;
        Some(Term::Request(&r.to.value, t.value))
    });
    for term in calls.chain(requests) {
        total = total.saturating_add(term.micros());
        count += 1;
        if out.len() < shown {
            out.push(term);
        }
    }
    (total, count, out)
}

/// `p99 50ms + card-provider 300ms × 2 attempts`: at most [`SHOWN_TERMS`] terms, the rest summed.
/// Written straight into one string: it is made once for each of thousands of callees on a
/// large topology, and a string for each term cost a third of the rule.
fn explain(own: Duration, downstream: u64, shown: &[Term], count: usize) -> String {
    let mut out = String::new();
    let add = |out: &mut String| {
        if !out.is_empty() {
            out.push_str(" + ");
        }
    };
    if own.0 > 0 {
        let _ = write!(out, "p99 {own}");
    }
    let room = SHOWN_TERMS - usize::from(own.0 > 0);
    // Past the room, one slot is kept for the sum of the rest.
    let named = if count > room {
        room - 1
    } else {
        shown.len().min(room)
    };
    for term in &shown[..named] {
        add(&mut out);
        term.write(&mut out);
    }
    if count > room {
        let rest = downstream - shown[..named].iter().map(|t| t.micros()).sum::<u64>();
        add(&mut out);
        let _ = write!(out, "{} more {}", count - named, human(rest));
    }
    out
}

/// What every finding on one callee shares, written once: its name, its worst case as a person
/// reads it, the sum behind it, and whether it waits on calls of its own.
struct Explained<'m> {
    name: &'m str,
    worst: String,
    explanation: String,
    waits: bool,
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
    let mut explained: FxHashMap<u32, Explained> = FxHashMap::default();
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
            let callee = explained.entry(callee.index() as u32).or_insert_with(|| {
                let (downstream, count, shown) = terms(cx, callee, SHOWN_TERMS);
                Explained {
                    name: cx.graph.name(cx.model, callee),
                    worst: human(w),
                    explanation: explain(facts.p99(callee), downstream, &shown, count),
                    waits: count > 0,
                }
            });
            let (from, to, w) = (&service.name.value, callee.name, &callee.worst);
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
                &callee.explanation,
                ")",
            ];
            let fix: [&str; 3] = if callee.waits {
                [
                    "shrink what ",
                    to,
                    " may wait for: shorter timeouts or fewer retries on its own calls",
                ]
            } else {
                ["make ", to, " faster"]
            };
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
                fix[0],
                fix[1],
                fix[2],
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
        let names: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
        let shown: Vec<_> = names
            .iter()
            .map(|name| Term::Call(name, Duration(1_000_000), 1))
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
