//! C302 no-compatibility-policy: a shared message contract with no rule for how it may change.

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::helpers::name_list;

pub const META: RuleMeta = RuleMeta {
    code: "C302",
    name: "no-compatibility-policy",
    severity: Severity::Warning,
    summary: "a message with a contract, consumed by 2+ services, has no `compatibility` (unless every channel carrying it has a broker with `schema_registry: true`)",
};

/// Records that a channel carries a message: the message stays covered by schema registries only
/// while every channel that carries it has one.
pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = cx.model;
    let flows = cx.message_flows();
    let registry: FxHashMap<&str, bool> = model
        .brokers
        .iter()
        .map(|b| {
            let on = b.schema_registry.as_ref().is_some_and(|r| r.value);
            (b.name.value.0.as_str(), on)
        })
        .collect();
    let registered: Vec<bool> = model
        .channels
        .iter()
        .map(|c| {
            c.broker
                .as_ref()
                .and_then(|b| registry.get(b.value.0.as_str()))
                .copied()
                .unwrap_or(false)
        })
        .collect();
    // By message id: whether every channel carrying it has a registry (`None`: none carries it).
    let mut enforced: Vec<Option<bool>> = vec![None; flows.names.len()];
    let mut carries = |id: u32, registered: bool| {
        let all = &mut enforced[id as usize];
        *all = Some(all.unwrap_or(true) && registered);
    };
    for (ci, &registered) in registered.iter().enumerate() {
        for &id in flows.carried(ci) {
            carries(id, registered);
        }
    }
    // A consume that names its message reads it from its channel too.
    for &(id, channel) in &flows.named_consumes {
        carries(id, registered[channel as usize]);
    }
    // Contracts come first among the message ids.
    for (id, message) in model.messages.iter().enumerate() {
        if message.compatibility.is_some() || enforced[id] == Some(true) {
            continue;
        }
        let services = flows.consumers(id as u32);
        if services.len() < 2 {
            continue;
        }
        let name = message.name.value.0.as_str();
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
