//! C301 unversioned-message: a message that flows without a versioned contract.

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::source::Span;

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "C301",
    name: "unversioned-message",
    severity: Severity::Warning,
    summary: "a message that flows on an edge has no contract, or its contract has no `version` (error when 2+ services consume it)",
};

/// Where a message is first produced, consumed and listed, and which services consume it.
#[derive(Default)]
struct Flow {
    producer: Option<Span>,
    consumer: Option<Span>,
    channel: Option<Span>,
    /// How many services consume the message.
    consumers: usize,
}

fn earliest(slot: &mut Option<Span>, span: Span) {
    if slot.is_none_or(|s| (span.file, span.start) < (s.file, s.start)) {
        *slot = Some(span);
    }
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = cx.model;
    let mut flows: FxHashMap<&str, Flow> = FxHashMap::default();
    for service in &model.services {
        for p in &service.publishes {
            if let Some(m) = &p.message {
                earliest(&mut flows.entry(&m.value).or_default().producer, p.span);
            }
        }
        for r in &service.requests {
            if let Some(m) = &r.options.message {
                earliest(&mut flows.entry(&m.value).or_default().producer, r.span);
            }
        }
        for c in &service.consumes {
            if let Some(m) = &c.message {
                earliest(&mut flows.entry(&m.value).or_default().consumer, c.span);
            }
        }
    }
    for channel in &model.channels {
        for m in &channel.messages {
            earliest(&mut flows.entry(&m.value).or_default().channel, m.span);
        }
    }
    for (message, services) in &cx.message_flows().consumers {
        if let Some(flow) = flows.get_mut(message) {
            flow.consumers = services.len();
        }
    }
    for (message, flow) in flows {
        let contract = model.message(message);
        if contract.is_some_and(|c| c.version.is_some()) {
            continue;
        }
        let severity = if flow.consumers >= 2 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let shared = if flow.consumers >= 2 {
            format!("; {} services consume it", flow.consumers)
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
                let Some(at) = flow.producer.or(flow.consumer).or(flow.channel) else { continue };
                out.push(
                    Diagnostic::new(&META, at, format!("message {message} has no contract{shared}"))
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
