//! X502 async-without-operations: the topology talks through a broker that the team says it
//! cannot run, or whose dead letters nobody watches.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::source::Span;

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "X502",
    name: "async-without-operations",
    severity: Severity::Warning,
    summary: "the topology has asynchronous edges and `operations` says the team lacks broker experience or DLQ runbooks",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(ops) = &cx.model.operations else {
        return;
    };
    let mut count = 0usize;
    let mut first: Option<Span> = None;
    for service in &cx.model.services {
        let spans = service
            .publishes
            .iter()
            .map(|p| p.span)
            .chain(service.requests.iter().map(|r| r.span))
            .chain(service.consumes.iter().map(|c| c.span));
        for span in spans {
            count += 1;
            first.get_or_insert(span);
        }
    }
    let Some(first) = first else { return };
    let edges = if count == 1 {
        "an asynchronous edge".to_string()
    } else {
        format!("{count} asynchronous edges")
    };
    let gaps = [
        (
            &ops.broker_experience,
            "broker_experience",
            "has not run a message broker in production",
            "a failing consumer shows up as a queue that grows in silence, and a team new to brokers notices late: keep these edges synchronous until someone has run the broker, or plan for it (a staging broker, depth and age alerts, a replay drill) and set `broker_experience: true` once done; until then `topolint advise` marks the async styles down",
        ),
        (
            &ops.dlq_runbooks,
            "dlq_runbooks",
            "has no runbook for dead letters",
            "a dead letter that nobody watches hides failed messages for days: write the runbook (who is paged on dead-letter depth, how messages are inspected and replayed), alert on every dead letter's depth (A204), then set `dlq_runbooks: true`",
        ),
    ];
    for (field, name, what, help) in gaps {
        let Some(field) = field.as_ref().filter(|f| !f.value) else {
            continue;
        };
        out.push(
            Diagnostic::new(
                &META,
                field.span,
                format!("the topology has {edges} but the team {what}"),
            )
            .label(format!("`{name}: false`"))
            .related(first, "asynchronous edge")
            .help(help)
            .path(format!("operations.{name}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    const ASYNC: &str = "services:
  a: { publishes: [{ to: c }] }
  b: { consumes: [{ from: c }] }
channels:
  c: { kind: queue }
";

    #[test]
    fn reports_each_gap_once() {
        let found = run(
            check,
            &format!(
                "topolint: 1\noperations: {{ broker_experience: false, dlq_runbooks: false, tracing: false }}\n{ASYNC}"
            ),
        );
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the topology has 2 asynchronous edges but the team has not run a message broker in production",
                "the topology has 2 asynchronous edges but the team has no runbook for dead letters",
            ]
        );
        assert_eq!(
            found[0].path.as_deref(),
            Some("operations.broker_experience")
        );
    }

    #[test]
    fn quiet_without_async_edges_or_without_gaps() {
        let sync_only = "topolint: 1\noperations: { broker_experience: false }\nservices:\n  a: { calls: [{ to: b }] }\n  b: {}\n";
        assert!(run(check, sync_only).is_empty());
        let able = format!("topolint: 1\noperations: {{ broker_experience: true }}\n{ASYNC}");
        assert!(run(check, &able).is_empty());
        let unknown = format!("topolint: 1\n{ASYNC}");
        assert!(run(check, &unknown).is_empty());
    }
}
