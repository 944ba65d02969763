//! C301 unversioned-message: a message that flows without a versioned contract.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "C301",
    name: "unversioned-message",
    severity: Severity::Warning,
    summary: "a message that flows on an edge has no contract, or its contract has no `version` (error when 2+ services consume it)",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = cx.model;
    let flows = cx.message_flows();
    for (id, (&message, first)) in flows.names.iter().zip(&flows.first).enumerate() {
        // A contract that nothing names has no flow to judge.
        let Some(seen) = first.producer.or(first.consumer).or(first.channel) else {
            continue;
        };
        // Contracts come first among the ids.
        let contract = model.messages.get(id);
        if contract.is_some_and(|c| c.version.is_some()) {
            continue;
        }
        let consumers = flows.consumers(id as u32).len();
        let severity = if consumers >= 2 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let shared = if consumers >= 2 {
            format!("; {consumers} services consume it")
        } else {
            String::new()
        };
        let path = format!("messages.{message}");
        match contract {
            Some(contract) => out.push(
                Diagnostic::new(&META, contract.name.span, format!("message contract {message} has no version{shared}"))
                    .severity(severity)
                    .label("no `version`")
                    .help("without a version, producers and consumers cannot tell which shape a message has when it changes: add `version: 1` and bump it on every change")
                    .path(path),
            ),
            None => {
                out.push(
                    Diagnostic::new(&META, seen, format!("message {message} has no contract{shared}"))
                        .severity(severity)
                        .label(format!("{message} is not declared under `messages:`"))
                        .help(format!(
                            "declare the contract so that changes to it are visible and versioned: `messages: {{ {message}: {{ version: 1, format: json-schema }} }}`"
                        ))
                        .path(path),
                );
            }
        }
    }
}
