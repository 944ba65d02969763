//! A205 unbounded-queue: user traffic flows into a channel that can grow without limit.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::graph::EdgeIndex;
use petgraph::visit::EdgeRef;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;
use crate::model::Overflow;

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "A205",
    name: "unbounded-queue",
    severity: Severity::Warning,
    summary: "a channel fed from a user-facing service has no `max_depth`, or has `overflow: grow`",
};

/// Edges along which user traffic travels. A `Reply` edge (reply channel → requester) does not:
/// a reply answers the requester's own request, so it adds no work that user traffic caused, and
/// following it would mark everything the requester feeds. Dead-letter routes carry failures.
fn carries_traffic(kind: EdgeKind) -> bool {
    matches!(
        kind,
        EdgeKind::Call | EdgeKind::Publish | EdgeKind::Request | EdgeKind::Consume
    )
}

/// For every node, the user-facing service (by index) whose traffic reaches it first and the
/// edge that brought it: one breadth-first search from all user-facing services at once.
fn reached(cx: &Context) -> (Vec<Option<u32>>, Vec<Option<EdgeIndex>>) {
    let g = &cx.graph.graph;
    let mut origin = vec![None; g.node_count()];
    let mut via = vec![None; g.node_count()];
    let mut queue = VecDeque::new();
    // Started in name order, so that the origin found does not depend on declaration order.
    let mut entries: Vec<usize> = (0..cx.model.services.len())
        .filter(|&si| {
            cx.model.services[si]
                .user_facing
                .as_ref()
                .is_some_and(|u| u.value)
        })
        .collect();
    entries.sort_unstable_by_key(|&si| &cx.model.services[si].name.value);
    for si in entries {
        let node = cx.graph.service_node(si);
        origin[node.index()] = Some(si as u32);
        queue.push_back(node);
    }
    while let Some(node) = queue.pop_front() {
        for e in g.edges_directed(node, Direction::Outgoing) {
            let target = e.target().index();
            if !carries_traffic(e.weight().kind) || origin[target].is_some() {
                continue;
            }
            origin[target] = origin[node.index()];
            via[target] = Some(e.id());
            queue.push_back(e.target());
        }
    }
    (origin, via)
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if !cx
        .model
        .services
        .iter()
        .any(|s| s.user_facing.as_ref().is_some_and(|u| u.value))
    {
        return;
    }
    let (origin, via) = reached(cx);
    for (i, channel) in cx.model.channels.iter().enumerate() {
        let node = cx.graph.channel_node(i);
        let Some(source) = origin[node.index()] else {
            continue;
        };
        let grow = channel
            .overflow
            .as_ref()
            .filter(|o| o.value == Overflow::Grow);
        let unbounded = channel.max_depth.is_none();
        if !unbounded && grow.is_none() {
            continue;
        }
        let name = &channel.name.value;
        let source = &cx.model.services[source as usize].name.value;
        let what = match (unbounded, grow.is_some()) {
            (true, true) => "no `max_depth` and `overflow: grow`",
            (true, false) => "no `max_depth`",
            _ => "`overflow: grow`",
        };
        let mut d = Diagnostic::new(
            &META,
            channel.name.span,
            format!("channel {name}, fed from user-facing service {source}, has {what}"),
        )
        .label(if unbounded {
            "no `max_depth`"
        } else {
            "unbounded"
        });
        if let Some(grow) = grow {
            d = d.related(grow.span, "grows without bound");
        }
        if let Some(edge) = via[node.index()] {
            let edge = cx.graph.graph[edge];
            let owner = &cx.model.services[edge.owner as usize].name.value;
            d = d.related(
                cx.graph.edge_span(cx.model, edge),
                format!("{owner} feeds it here"),
            );
        }
        let help = if unbounded {
            "a queue hides overload from users, since the publish succeeds however far behind the consumers are: add `max_depth: <the backlog you can drain>` and `overflow: reject` (or `drop-oldest`, `block`) to the channel"
        } else {
            "a queue hides overload from users, since the publish succeeds however far behind the consumers are: replace `overflow: grow` with `reject` (or `drop-oldest`, `block`)"
        };
        out.push(d.help(help).path(format!("channels.{name}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    fn paths(found: &[Diagnostic]) -> Vec<&str> {
        found.iter().filter_map(|d| d.path.as_deref()).collect()
    }

    #[test]
    fn follows_calls_publishes_and_consumers_from_user_facing_services() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: api, timeout: 1s }]
    publishes: [{ to: direct }]
  api: { publishes: [{ to: through-call }] }
  worker:
    consumes: [{ from: through-call, idempotent: true }]
    publishes: [{ to: through-consumer }, { to: bounded }]
  batch: { publishes: [{ to: offline }] }
channels:
  direct: { kind: queue, max_depth: 10, overflow: grow }
  through-call: { kind: queue }
  through-consumer: { kind: queue }
  bounded: { kind: queue, max_depth: 10 }
  offline: { kind: queue }
",
        );
        assert_eq!(
            paths(&found),
            [
                "channels.direct",
                "channels.through-call",
                "channels.through-consumer"
            ]
        );
        assert_eq!(
            found[0].message,
            "channel direct, fed from user-facing service web, has `overflow: grow`"
        );
        assert_eq!(
            found[2].message,
            "channel through-consumer, fed from user-facing service web, has no `max_depth`"
        );
    }

    #[test]
    fn replies_and_dead_letters_carry_no_user_traffic() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: pricer, timeout: 1s }]
  pricer: { publishes: [{ to: replies }] }
  batch:
    requests: [{ to: jobs, reply: replies, timeout: 1s }]
    publishes: [{ to: batch-out }]
channels:
  replies: { kind: queue, max_depth: 10, dead_letter: dlq }
  jobs: { kind: queue }
  batch-out: { kind: queue }
  dlq: { kind: queue }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
