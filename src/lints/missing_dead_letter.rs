//! A202 missing-dead-letter: a consumed channel with nowhere to put messages that always fail.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "A202",
    name: "missing-dead-letter",
    severity: Severity::Error,
    summary: "a channel with consumers has no `dead_letter` (or `dead_letter: none` without a `reason`)",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (i, channel) in cx.model.channels.iter().enumerate() {
        let node = cx.graph.channel_node(i);
        if cx.graph.consumers(node).next().is_none() {
            continue;
        }
        let name = &channel.name.value;
        let path = || format!("channels.{name}");
        match &channel.dead_letter {
            Some(_) if !channel.dead_letter_none() => {}
            Some(none) => {
                if channel.reason.as_ref().is_some_and(|r| !r.value.trim().is_empty()) {
                    continue;
                }
                out.push(
                    Diagnostic::new(&META, channel.name.span, format!("channel {name} declares `dead_letter: none` without a `reason`"))
                        .label("no dead letter and no reason")
                        .related(none.span, "declared here")
                        .help("say why losing or blocking on a poison message is acceptable: add `reason: <why>` to the channel, or name a dead-letter channel")
                        .path(path()),
                );
            }
            None => out.push(
                Diagnostic::new(&META, channel.name.span, format!("channel {name} has consumers but no dead letter"))
                    .label("no dead letter")
                    .help(format!(
                        "a message that always fails is retried forever, blocking the channel, or dropped: add `dead_letter: {name}-dlq` and define that channel with `alerts: {{ depth: 1 }}`, or `dead_letter: none` with a `reason:`"
                    ))
                    .path(path()),
            ),
        }
    }
}
