//! A210 exactly-once-claim: a consumer claims exactly-once while its effects leave the broker.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::{Consume, Delivery, NodeKind};

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "A210",
    name: "exactly-once-claim",
    severity: Severity::Warning,
    summary: "a `consumes` edge claims `delivery: exactly-once` while its service writes a datastore or calls an external",
};

fn claims_exactly_once(consume: &Consume) -> bool {
    consume
        .delivery
        .as_ref()
        .is_some_and(|d| d.value == Delivery::ExactlyOnce)
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        if !service.consumes.iter().any(claims_exactly_once) {
            continue;
        }
        // The first effect of each kind is enough to show that the claim cannot hold.
        let write = service.writes.first();
        let external = service.calls.iter().find(|c| {
            cx.model
                .lookup(&c.to.value)
                .is_some_and(|n| n.kind == NodeKind::External)
        });
        let effect = match (write, external) {
            (Some(w), Some(c)) => format!("writes {} and calls external {}", w.value, c.to.value),
            (Some(w), None) => format!("writes {}", w.value),
            (None, Some(c)) => format!("calls external {}", c.to.value),
            (None, None) => continue,
        };
        let name = &service.name.value;
        for (i, consume) in service.consumes.iter().enumerate() {
            if !claims_exactly_once(consume) {
                continue;
            }
            let from = &consume.from.value;
            let mut d = Diagnostic::new(
                &META,
                consume.span,
                format!("{name} claims exactly-once delivery from {from} but {effect}"),
            )
            .label("`delivery: exactly-once`");
            if let Some(w) = write {
                d = d.related(w.span, "a write outside the broker's transaction");
            }
            if let Some(c) = external {
                d = d.related(c.span, "a call outside the broker's transaction");
            }
            out.push(
                d.help("exactly-once stops at the broker, and a crash between this effect and the offset commit repeats it on redelivery: declare `delivery: at-least-once` and deduplicate with `idempotency: { key: <message id field>, store: <datastore> }`")
                    .at_item(service, "consumes", i),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_claims_with_effects_outside_the_broker() {
        let found = run(
            check,
            "topolint: 1
services:
  writer:
    writes: [db]
    consumes: [{ from: q, delivery: exactly-once }, { from: q, delivery: at-least-once }]
  caller:
    calls: [{ to: internal, timeout: 1s }, { to: vendor, timeout: 1s }]
    consumes: [{ from: q, delivery: exactly-once }]
  internal:
    reads: [db]
    calls: [{ to: caller, timeout: 1s }]
    consumes: [{ from: q, delivery: exactly-once }]
externals:
  vendor: {}
channels:
  q: { kind: topic }
datastores:
  db: { kind: postgres }
",
        );
        let got: Vec<_> = found
            .iter()
            .map(|d| (d.path.as_deref().unwrap(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "services.writer.consumes[0]",
                    "writer claims exactly-once delivery from q but writes db"
                ),
                (
                    "services.caller.consumes[0]",
                    "caller claims exactly-once delivery from q but calls external vendor"
                ),
            ]
        );
        assert_eq!(found[1].related.len(), 1);
    }
}
