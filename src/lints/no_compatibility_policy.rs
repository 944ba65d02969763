//! C302 no-compatibility-policy: a shared message contract with no rule for how it may change.

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::helpers::{channel_index, name_list};

pub const META: RuleMeta = RuleMeta {
    code: "C302",
    name: "no-compatibility-policy",
    severity: Severity::Warning,
    summary: "a message with a contract, consumed by 2+ services, has no `compatibility` (unless every channel carrying it has a broker with `schema_registry: true`)",
};

/// Records that a channel carries a message: the message stays covered by schema registries only
/// while every channel that carries it has one.
fn carries<'m>(enforced: &mut FxHashMap<&'m str, bool>, message: &'m str, registered: bool) {
    enforced
        .entry(message)
        .and_modify(|all| *all &= registered)
        .or_insert(registered);
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = cx.model;
    let flows = cx.message_flows();
    let (carried, consumers) = (&flows.carried, &flows.consumers);
    let registered: Vec<bool> = model
        .channels
        .iter()
        .map(|c| {
            c.broker
                .as_ref()
                .and_then(|b| model.broker(&b.value))
                .and_then(|b| b.schema_registry.as_ref())
                .is_some_and(|r| r.value)
        })
        .collect();
    // A consumer that names the message also says that its channel carries it.
    let mut enforced: FxHashMap<&str, bool> = FxHashMap::default();
    for (ci, messages) in carried.iter().enumerate() {
        for m in messages {
            carries(&mut enforced, m, registered[ci]);
        }
    }
    for service in &model.services {
        for c in &service.consumes {
            if let (Some(m), Some(ci)) = (&c.message, channel_index(cx, &c.from.value)) {
                carries(&mut enforced, &m.value, registered[ci]);
            }
        }
    }
    for message in &model.messages {
        if message.compatibility.is_some() {
            continue;
        }
        let name = message.name.value.0.as_str();
        let Some(services) = consumers.get(name).filter(|s| s.len() >= 2) else {
            continue;
        };
        if enforced.get(name).copied().unwrap_or(false) {
            continue;
        }
        let mut services: Vec<u32> = services.iter().copied().collect();
        services.sort_unstable();
        let names: Vec<&str> = services
            .iter()
            .map(|&s| model.services[s as usize].name.value.0.as_str())
            .collect();
        out.push(
            Diagnostic::new(
                &META,
                message.name.span,
                format!(
                    "message {name} is consumed by {} but declares no compatibility policy",
                    name_list(&names)
                ),
            )
            .label("no `compatibility`")
            .help("with several consumers, old and new versions of the message coexist during every rollout: say which changes are safe with `compatibility: backward` (or `forward`, `full`), or host its channels on a broker with `schema_registry: true`")
            .path(format!("messages.{name}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    const SERVICES: &str = "topolint: 1
services:
  p: { publishes: [{ to: a, message: M }, { to: b, message: M }] }
  x: { consumes: [{ from: a, idempotent: true }] }
  y: { consumes: [{ from: b, idempotent: true }] }
";

    #[test]
    fn counts_consumers_over_every_channel() {
        let found = run(
            check,
            &format!(
                "{SERVICES}channels:
  a: {{ kind: topic }}
  b: {{ kind: topic }}
messages:
  M: {{ version: 1 }}
"
            ),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "message M is consumed by x and y but declares no compatibility policy"
        );
        assert_eq!(found[0].path.as_deref(), Some("messages.M"));
    }

    #[test]
    fn a_registry_on_every_channel_or_a_policy_is_enough() {
        let registry = |b_broker: &str| {
            format!(
                "{SERVICES}channels:
  a: {{ kind: topic, broker: reg }}
  b: {{ kind: topic, broker: {b_broker} }}
brokers:
  reg: {{ kind: kafka, schema_registry: true }}
  plain: {{ kind: kafka }}
messages:
  M: {{ version: 1 }}
"
            )
        };
        assert!(run(check, &registry("reg")).is_empty());
        assert_eq!(run(check, &registry("plain")).len(), 1);
        let policy = format!(
            "{SERVICES}channels:
  a: {{ kind: topic }}
  b: {{ kind: topic }}
messages:
  M: {{ version: 1, compatibility: none }}
"
        );
        assert!(run(check, &policy).is_empty());
    }
}
