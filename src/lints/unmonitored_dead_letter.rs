//! A204 unmonitored-dead-letter: failed messages land where nobody is told about them.

use petgraph::Direction;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "A204",
    name: "unmonitored-dead-letter",
    severity: Severity::Warning,
    summary: "a channel used as a dead letter has no depth alert",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (i, channel) in cx.model.channels.iter().enumerate() {
        // An age alert alone does not count: for a dead letter, one message is already news.
        if channel.alerts.as_ref().is_some_and(|a| a.depth.is_some()) {
            continue;
        }
        let node = cx.graph.channel_node(i);
        let mut routes: Vec<_> = cx
            .graph
            .edges_of(node, Direction::Incoming, EdgeKind::DeadLetter)
            .map(|(_, _, edge)| edge)
            .collect();
        if routes.is_empty() {
            continue;
        }
        // By name, not declaration order: the message names the same channel however the
        // channels are ordered or split between files.
        routes.sort_unstable_by_key(|e| &cx.model.channels[e.owner as usize].name.value);
        let name = &channel.name.value;
        let first = &cx.model.channels[routes[0].owner as usize].name.value;
        let sources = match routes.len() {
            1 => format!("dead letter of {first}"),
            n => format!("dead letter of {first} and {} more", n - 1),
        };
        let mut d = Diagnostic::new(
            &META,
            channel.name.span,
            format!("channel {name}, the {sources}, has no depth alert"),
        )
        .label("no `alerts.depth`");
        for route in routes {
            let owner = &cx.model.channels[route.owner as usize].name.value;
            d = d.related(
                cx.graph.edge_span(cx.model, route),
                format!("dead letter of {owner}"),
            );
        }
        out.push(
            d.help("every message here is work that failed and waits for a person: add `alerts: { depth: 1 }` to the channel so that the first one pages someone")
                .path(format!("channels.{name}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    const TOPOLOGY: &str = "topolint: 1
channels:
  a: { kind: queue, dead_letter: dlq }
  b: { kind: queue, dead_letter: dlq }
  c: { kind: queue, dead_letter: aged }
  d: { kind: queue, dead_letter: watched }
  dlq: { kind: queue }
  aged: { kind: queue, alerts: { age: 1h } }
  watched: { kind: queue, alerts: { depth: 1 } }
";

    #[test]
    fn reports_each_dead_letter_without_a_depth_alert_once() {
        let found = run(check, TOPOLOGY);
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "channel dlq, the dead letter of a and 1 more, has no depth alert",
                "channel aged, the dead letter of c, has no depth alert",
            ]
        );
        assert_eq!(found[0].related.len(), 2);
        assert_eq!(found[0].path.as_deref(), Some("channels.dlq"));
    }

    #[test]
    fn a_channel_nobody_dead_letters_to_is_left_alone() {
        let found = run(
            check,
            "topolint: 1
channels:
  q: { kind: queue, dead_letter: none, reason: replayed from the source }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
