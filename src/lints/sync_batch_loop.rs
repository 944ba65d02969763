//! S108 sync-batch-loop: a synchronous call made once per item of a batch.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Batch;

use super::Context;
use super::identity::AtItem;
use super::sync_common::CallFacts;

pub const META: RuleMeta = RuleMeta {
    code: "S108",
    name: "sync-batch-loop",
    severity: Severity::Warning,
    summary: "a `calls` edge is made in a loop over many items (`batch:`)",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = cx.call_facts();
    for k in facts.with(CallFacts::BATCH) {
        let (service, i, call) = facts.item(cx, k);
        let from = &service.name.value;
        let Some(batch) = call.options.batch.as_ref() else {
            continue;
        };
        let to = &call.to.value;
        let (items, label) = match &batch.value {
            Batch::Items(b) => (
                format!("{} items", b.items),
                format!("one call per item, {} in a row", b.items),
            ),
            Batch::Enabled(_) => ("items".to_string(), "one call per item".to_string()),
        };
        out.push(
            Diagnostic::new(
                &META,
                call.span,
                format!("{from} calls {to} synchronously in a loop over {items}"),
            )
            .label(label)
            .help(format!(
                "each item costs a round trip, one after another, while {from} holds a thread and {to} takes a wall of traffic from one client: publish the items to a queue that workers consume (`publishes: [{{ to: <jobs channel>, message: <message> }}]` on {from}, `consumes: [{{ from: <jobs channel>, idempotent: true }}]` on the worker), or give {to} a bulk operation that takes every item in one call and remove `batch:`"
            ))
            .at_item(service, "calls", i),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    #[test]
    fn reports_true_and_items_but_not_false() {
        let found = run(
            check,
            "topolint: 1
services:
  jobs:
    calls:
      - { to: tax, timeout: 1s, batch: { items: 500 } }
      - { to: tax, timeout: 1s, batch: true }
      - { to: tax, timeout: 1s, batch: false }
      - { to: tax, timeout: 1s }
  tax: {}
",
        );
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "jobs calls tax synchronously in a loop over 500 items",
                "jobs calls tax synchronously in a loop over items"
            ]
        );
        assert_eq!(found[1].path.as_deref(), Some("services.jobs.calls[1]"));
    }

    #[test]
    fn batch_from_defaults_counts() {
        let found = run(
            check,
            "topolint: 1
defaults:
  calls: { batch: true }
services:
  jobs: { calls: [{ to: tax }] }
  tax: {}
",
        );
        assert_eq!(found.len(), 1);
    }
}
