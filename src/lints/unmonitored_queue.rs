//! A203 unmonitored-queue: a consumed channel whose backlog nobody would notice.

use petgraph::Direction;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;

use super::Context;
use super::helpers::{name_list, neighbours};

pub const META: RuleMeta = RuleMeta {
    code: "A203",
    name: "unmonitored-queue",
    severity: Severity::Warning,
    summary: "a channel with consumers has no `alerts` on depth or age",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (i, channel) in cx.model.channels.iter().enumerate() {
        let monitored = channel
            .alerts
            .as_ref()
            .is_some_and(|a| a.depth.is_some() || a.age.is_some());
        if monitored {
            continue;
        }
        let node = cx.graph.channel_node(i);
        let consumers = neighbours(cx, node, Direction::Outgoing, &[EdgeKind::Consume]);
        if consumers.is_empty() {
            continue;
        }
        let names: Vec<&str> = consumers
            .iter()
            .map(|&n| cx.graph.name(cx.model, n))
            .collect();
        let name = &channel.name.value;
        let mut d = Diagnostic::new(
            &META,
            channel.name.span,
            format!(
                "channel {name}, consumed by {}, has no alert on depth or age",
                name_list(&names)
            ),
        )
        .label("no `alerts.depth` or `alerts.age`");
        if let Some(alerts) = &channel.alerts {
            d = d.related(alerts.span, "alerts without a depth or age");
        }
        out.push(
            d.help("a slow or stopped consumer shows only as a growing backlog: add `alerts: { depth: 1000, age: 5m }` to the channel, with thresholds above a normal peak")
                .path(format!("channels.{name}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_a_consumed_channel_without_alerts() {
        let found = run(
            check,
            "topolint: 1
services:
  a: { publishes: [{ to: q }] }
  b: { consumes: [{ from: q, idempotent: true }] }
  c: { consumes: [{ from: q, idempotent: true }] }
channels:
  q: { kind: queue }
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "channel q, consumed by b and c, has no alert on depth or age"
        );
        assert_eq!(found[0].path.as_deref(), Some("channels.q"));
    }

    #[test]
    fn either_alert_is_enough_and_unconsumed_channels_are_left_alone() {
        let found = run(
            check,
            "topolint: 1
services:
  a: { publishes: [{ to: q1 }, { to: q2 }, { to: q3 }] }
  b: { consumes: [{ from: q1, idempotent: true }, { from: q2, idempotent: true }] }
channels:
  q1: { kind: queue, alerts: { depth: 10 } }
  q2: { kind: queue, alerts: { age: 1m } }
  q3: { kind: queue }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
