//! A206 ordering-hazard: a consumer relies on an order its channel does not keep.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Ordering;

use super::Context;
use super::helpers::channel_index;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "A206",
    name: "ordering-hazard",
    severity: Severity::Error,
    summary: "a consumer relies on `ordering: per-key` on a partitioned channel without a `key`, or on `total` ordering with more than one partition or `concurrency` above 1",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        let name = &service.name.value;
        for (i, consume) in service.consumes.iter().enumerate() {
            let Some(ordering) = &consume.ordering else {
                continue;
            };
            let Some(ci) = channel_index(cx, &consume.from.value) else {
                continue;
            };
            let channel = &cx.model.channels[ci];
            let from = &channel.name.value;
            let partitions = channel.partitions.as_ref().map_or(1, |p| p.value);
            let concurrency = consume.concurrency.as_ref().map_or(1, |c| c.value);
            // Each reason: what breaks the order, its label, and the span that says so.
            let mut reasons = Vec::new();
            let (order, help) = match ordering.value {
                Ordering::None => continue,
                Ordering::PerKey => {
                    if partitions > 1 && channel.key.is_none() {
                        reasons.push((
                            format!("which has {partitions} partitions and no key"),
                            format!("{partitions} partitions, no `key`"),
                            channel.partitions.as_ref().map(|p| p.span),
                        ));
                    }
                    (
                        "per-key",
                        format!(
                            "without a key, messages of one entity land on different partitions and overtake each other: add `key: <entity id field>` to channel {from}, or make {name} tolerate reordering and declare `ordering: none`"
                        ),
                    )
                }
                Ordering::Total => {
                    if partitions > 1 {
                        reasons.push((
                            format!("which has {partitions} partitions"),
                            format!("{partitions} partitions"),
                            channel.partitions.as_ref().map(|p| p.span),
                        ));
                    }
                    if concurrency > 1 {
                        reasons.push((
                            format!("handling {concurrency} messages at a time"),
                            format!("{concurrency} at a time"),
                            consume.concurrency.as_ref().map(|c| c.span),
                        ));
                    }
                    (
                        "total",
                        format!(
                            "a total order needs one partition and one worker: set `partitions: 1` on channel {from} and `concurrency: 1` here, or rely on `ordering: per-key` with a `key:` on the channel"
                        ),
                    )
                }
            };
            if reasons.is_empty() {
                continue;
            }
            let why: Vec<&str> = reasons.iter().map(|(r, _, _)| r.as_str()).collect();
            let mut d = Diagnostic::new(
                &META,
                consume.span,
                format!(
                    "{name} relies on {order} order from {from}, {}",
                    why.join(", ")
                ),
            )
            .label(format!("relies on `ordering: {order}`"));
            for (_, label, span) in reasons {
                if let Some(span) = span {
                    d = d.related(span, label);
                }
            }
            out.push(d.help(help).at_item(service, "consumes", i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    const TOPOLOGY: &str = "topolint: 1
services:
  c:
    consumes:
      - { from: wide, ordering: per-key }
      - { from: keyed, ordering: per-key }
      - { from: wide, ordering: total, concurrency: 2 }
      - { from: single, ordering: total, concurrency: 4 }
      - { from: single, ordering: total }
      - { from: wide, ordering: none, concurrency: 8 }
channels:
  wide: { kind: topic, partitions: 6 }
  keyed: { kind: topic, partitions: 6, key: id }
  single: { kind: queue }
";

    #[test]
    fn reports_orders_the_channel_does_not_keep() {
        let found = run(check, TOPOLOGY);
        let got: Vec<_> = found
            .iter()
            .map(|d| (d.path.as_deref().unwrap(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "services.c.consumes[0]",
                    "c relies on per-key order from wide, which has 6 partitions and no key"
                ),
                (
                    "services.c.consumes[2]",
                    "c relies on total order from wide, which has 6 partitions, handling 2 messages at a time"
                ),
                (
                    "services.c.consumes[3]",
                    "c relies on total order from single, handling 4 messages at a time"
                ),
            ]
        );
        assert_eq!(found[1].related.len(), 2);
    }
}
