//! A209 orphan-channel: a channel written and never read, or read and never written.

use petgraph::Direction;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;

use super::Context;
use super::helpers::{name_list, neighbours};

pub const META: RuleMeta = RuleMeta {
    code: "A209",
    name: "orphan-channel",
    severity: Severity::Warning,
    summary: "a channel has publishers and no consumers, or consumers and no publishers",
};

/// A request writes to its channel; a `reply` reads its channel.
const WRITES: [EdgeKind; 2] = [EdgeKind::Publish, EdgeKind::Request];
const READS: [EdgeKind; 2] = [EdgeKind::Consume, EdgeKind::Reply];

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (i, channel) in cx.model.channels.iter().enumerate() {
        let node = cx.graph.channel_node(i);
        // Whether any edge of these kinds meets the channel: the services at the other end are
        // listed only for a finding (most channels have both sides).
        let any = |direction: Direction, kinds: &[EdgeKind]| {
            kinds
                .iter()
                .any(|&kind| cx.graph.edges_of(node, direction, kind).next().is_some())
        };
        let named = |direction, kinds| names(cx, &neighbours(cx, node, direction, kinds));
        // The broker feeds a dead letter and people read it: its edges say nothing.
        if any(Direction::Incoming, &[EdgeKind::DeadLetter]) {
            continue;
        }
        let name = &channel.name.value;
        let written = any(Direction::Incoming, &WRITES);
        let (message, label, edges, help) = match (written, any(Direction::Outgoing, &READS)) {
            (true, false) => (
                format!(
                    "channel {name} is published to by {}, but no service consumes it",
                    named(Direction::Incoming, &WRITES)
                ),
                "never read",
                edge_spans(cx, node, Direction::Incoming, &WRITES, "published here"),
                format!(
                    "fire-and-forget never learns that nobody listens, so these messages are lost: add the consumer with `consumes: [{{ from: {name} }}]`, or remove the publish and the channel"
                ),
            ),
            (false, true) => (
                format!(
                    "channel {name} is consumed by {}, but no service publishes to it",
                    named(Direction::Outgoing, &READS)
                ),
                "never written",
                edge_spans(cx, node, Direction::Outgoing, &READS, "read here"),
                format!(
                    "its consumers wait for messages that never come, usually after a rename or a retired producer: add the producer with `publishes: [{{ to: {name} }}]`, or remove the channel and its consumers"
                ),
            ),
            // Both sides, or no edges at all.
            _ => continue,
        };
        let mut d = Diagnostic::new(&META, channel.name.span, message).label(label);
        for (span, label) in edges {
            d = d.related(span, label);
        }
        out.push(d.help(help).path(format!("channels.{name}")));
    }
}

fn names(cx: &Context, nodes: &[petgraph::graph::NodeIndex]) -> String {
    let names: Vec<&str> = nodes.iter().map(|&n| cx.graph.name(cx.model, n)).collect();
    name_list(&names)
}

/// The spans of a node's edges of these kinds, in file order, each with the label.
fn edge_spans(
    cx: &Context,
    node: petgraph::graph::NodeIndex,
    direction: Direction,
    kinds: &[EdgeKind],
    label: &'static str,
) -> Vec<(crate::source::Span, &'static str)> {
    let mut out: Vec<_> = kinds
        .iter()
        .flat_map(|&kind| cx.graph.edges_of(node, direction, kind))
        .map(|(_, _, edge)| (cx.graph.edge_span(cx.model, edge), label))
        .collect();
    out.sort_unstable_by_key(|(s, _)| (s.file, s.start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_one_sided_channels() {
        let found = run(
            check,
            "topolint: 1
services:
  a:
    publishes: [{ to: unread }, { to: used }]
    requests: [{ to: asked, reply: answers, timeout: 1s }]
  b:
    consumes: [{ from: unwritten, idempotent: true }, { from: used, idempotent: true }]
channels:
  unread: { kind: queue }
  unwritten: { kind: queue }
  used: { kind: queue, dead_letter: dlq }
  asked: { kind: queue }
  answers: { kind: queue }
  dlq: { kind: queue }
  idle: { kind: queue }
",
        );
        let got: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            got,
            [
                "channel unread is published to by a, but no service consumes it",
                "channel unwritten is consumed by b, but no service publishes to it",
                "channel asked is published to by a, but no service consumes it",
                "channel answers is consumed by a, but no service publishes to it",
            ]
        );
    }

    #[test]
    fn a_request_and_its_reply_close_both_ends() {
        let found = run(
            check,
            "topolint: 1
services:
  a: { requests: [{ to: asked, reply: answers, timeout: 1s }] }
  b:
    consumes: [{ from: asked, idempotent: true }]
    publishes: [{ to: answers }]
channels:
  asked: { kind: queue }
  answers: { kind: queue }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
