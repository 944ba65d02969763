//! S107 sync-cycle: services that call each other synchronously, directly or through others.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::graph::{EdgeIndex, NodeIndex};

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::{Edge, EdgeKind};

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "S107",
    name: "sync-cycle",
    severity: Severity::Error,
    summary: "synchronous calls form a cycle",
};

/// The calls of `node` that stay inside component `id`, in list order.
fn inner_calls(cx: &Context, node: NodeIndex, id: u32) -> Vec<(EdgeIndex, NodeIndex, Edge)> {
    let component = &cx.sync().component;
    let mut calls: Vec<_> = cx
        .graph
        .edges_of(node, Direction::Outgoing, EdgeKind::Call)
        .filter(|(_, to, _)| component[to.index()] == id)
        .collect();
    calls.sort_by_key(|(_, _, edge)| edge.item);
    calls
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let sync = cx.sync();
    let name = |n: NodeIndex| cx.graph.name(cx.model, n);
    let mut seen = vec![false; cx.graph.graph.node_count()];
    for (id, members) in sync.callable_components() {
        let id = id as u32;
        // A lone node is a cycle only when it calls itself (read from the analysis's flat list of
        // calls: most nodes are lone, and petgraph's edge lists mix in every other kind).
        if members.len() == 1
            && !sync
                .calls_from(members[0])
                .iter()
                .any(|&(_, to)| to == members[0])
        {
            continue;
        }
        // Reported at the member defined first in the files.
        let Some(&first) = members.iter().min_by_key(|&&m| {
            let span = cx.model.node_name(cx.graph.node_ref(m)).span;
            (span.file, span.start)
        }) else {
            continue;
        };
        // Visit the members from the first one along the calls of the cycle: a plain ring is then
        // named in its own order, anything larger in an order a reader can follow.
        let mut order = vec![first];
        seen[first.index()] = true;
        let mut queue = VecDeque::from([first]);
        let mut calls = Vec::new();
        let mut ring = true;
        while let Some(at) = queue.pop_front() {
            let inner = inner_calls(cx, at, id);
            ring &= inner.iter().all(|(_, to, _)| *to == inner[0].1);
            for (e, to, edge) in inner {
                calls.push((e, at, to, edge));
                if !seen[to.index()] {
                    seen[to.index()] = true;
                    order.push(to);
                    queue.push_back(to);
                }
            }
        }
        for &m in members {
            seen[m.index()] = false;
        }
        let names: Vec<&str> = order.iter().map(|&n| name(n)).collect();
        let (message, back) = if members.len() == 1 {
            (
                format!("synchronous calls form a cycle: {0} → {0}", name(first)),
                String::new(),
            )
        } else if ring {
            // In a ring each member has one callee: the visit order is the cycle's order.
            let last = *order.last().expect("a component has members");
            (
                format!(
                    "synchronous calls form a cycle: {} → {}",
                    names.join(" → "),
                    name(first)
                ),
                format!("the call from {} back to {}", name(last), name(first)),
            )
        } else {
            (
                format!(
                    "synchronous calls form a cycle among {} services: {}",
                    names.len(),
                    names.join(", ")
                ),
                "one direction of these calls".to_string(),
            )
        };
        // The first member's first call that stays in the cycle.
        let (_, _, to, edge) = calls[0];
        let help = if members.len() == 1 {
            format!(
                "a request that calls back into {0} holds a second thread of {0} while the first waits, and a deep recursion exhausts its pool: do the work in-process (a function call instead of `- to: {0}`), or hand the follow-up to a queue",
                name(first)
            )
        } else {
            format!(
                "a request can come back to a service that is still waiting on it, and under load the members hold each other's threads until timeouts fire: send the data along with the call, move the shared piece into one service (or a third one that the others call), or turn {back} into an event (`publishes:` on the caller, `consumes:` on the callee)"
            )
        };
        let mut d = Diagnostic::new(&META, cx.graph.edge_span(cx.model, edge), message)
            .label(format!("{} → {}, part of the cycle", name(first), name(to)))
            .help(help)
            .at_call(cx.model, edge);
        for &(_, from, to, edge) in &calls[1..] {
            d = d.related(
                cx.graph.edge_span(cx.model, edge),
                format!("{} → {}, part of the cycle", name(from), name(to)),
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
    fn reports_each_cycle_once_at_the_first_member() {
        let found = run(
            check,
            "topolint: 1
services:
  web: { calls: [{ to: b }] }
  a: { calls: [{ to: web }, { to: c }] }
  b: { calls: [{ to: c }, { to: x }] }
  c: { calls: [{ to: a }] }
  x: { calls: [{ to: x }] }
  y: { calls: [{ to: z }, { to: z }] }
  z: {}
",
        );
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "synchronous calls form a cycle among 4 services: web, b, c, a",
                "synchronous calls form a cycle: x → x"
            ]
        );
        assert_eq!(found[0].path.as_deref(), Some("services.web.calls[0]"));
        // web → b, b → c, c → a, a → web, a → c: the first is primary, the rest related.
        assert_eq!(found[0].related.len(), 4);
        assert_eq!(found[1].path.as_deref(), Some("services.x.calls[0]"));
    }

    #[test]
    fn a_ring_is_named_in_order_from_the_first_member() {
        let found = run(
            check,
            "topolint: 1
services:
  stock: { calls: [{ to: orders }] }
  billing: { calls: [{ to: stock }, { to: ledger }] }
  orders: { calls: [{ to: ledger }, { to: billing }, { to: billing }] }
  ledger: {}
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "synchronous calls form a cycle: stock → orders → billing → stock"
        );
        assert_eq!(found[0].path.as_deref(), Some("services.stock.calls[0]"));
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap()
                .contains("billing back to stock")
        );
        assert_eq!(found[0].related.len(), 3);
    }
}
