//! D401 dual-write-without-outbox: a database write and a critical publish that can disagree.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Via;

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "D401",
    name: "dual-write-without-outbox",
    severity: Severity::Error,
    summary: "a service that writes a datastore publishes a `critical` message directly, without an outbox",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        let Some(write) = service.writes.first() else {
            continue;
        };
        let name = &service.name.value;
        for (i, publish) in service.publishes.iter().enumerate() {
            let critical = publish.critical.as_ref().is_some_and(|c| c.value);
            let direct = publish.via.as_ref().is_none_or(|v| v.value == Via::Direct);
            if !critical || !direct {
                continue;
            }
            let what = publish
                .message
                .as_ref()
                .map(|m| format!("critical {}", m.value))
                .unwrap_or_else(|| "a critical message".into());
            out.push(
                Diagnostic::new(
                    &META,
                    publish.span,
                    format!("{name} writes {} and publishes {what} to {} directly", write.value, publish.to.value),
                )
                .label("published beside the write, not with it")
                .related(write.span, "the datastore write")
                .help("a crash or broker outage between the write and the publish leaves them disagreeing for good: write the message in the same transaction with `via: outbox`, or publish from the database log with `via: cdc`")
                .at_item(service, "publishes", i),
            );
        }
    }
}
