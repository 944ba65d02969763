//! A208 request-reply-without-reply: a requester waits for an answer that cannot come.

use petgraph::Direction;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;

use super::Context;
use super::helpers::channel_index;

pub const META: RuleMeta = RuleMeta {
    code: "A208",
    name: "request-reply-without-reply",
    severity: Severity::Error,
    summary: "a `requests` edge has no `reply` channel, or nothing publishes to the reply channel",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        let name = &service.name.value;
        for (i, request) in service.requests.iter().enumerate() {
            let to = &request.to.value;
            let path = format!("services.{name}.requests[{i}]");
            let Some(reply) = &request.options.reply else {
                out.push(
                    Diagnostic::new(&META, request.span, format!("{name} requests on {to} with no reply channel"))
                        .label("no `reply`")
                        .help(format!(
                            "the answer has nowhere to arrive, so every request waits out its timeout: add `reply: {to}-replies` here and have the service that consumes {to} publish to it"
                        ))
                        .path(path),
                );
                continue;
            };
            let Some(ci) = channel_index(cx, &reply.value) else {
                continue;
            };
            let node = cx.graph.channel_node(ci);
            if cx
                .graph
                .edges_of(node, Direction::Incoming, EdgeKind::Publish)
                .next()
                .is_some()
            {
                continue;
            }
            let (reply, reply_span) = (&reply.value, reply.span);
            out.push(
                Diagnostic::new(&META, request.span, format!("{name} waits for replies on {reply}, which no service publishes to"))
                    .label("no answer can arrive")
                    .related(reply_span, "nobody publishes here")
                    .help(format!(
                        "every request waits out its timeout while the work is done for nothing: have the service that consumes {to} declare `publishes: [{{ to: {reply} }}]`, or point `reply:` at the channel it answers on"
                    ))
                    .path(path),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_missing_and_silent_reply_channels() {
        let found = run(
            check,
            "topolint: 1
services:
  asker:
    requests:
      - { to: jobs, timeout: 1s }
      - { to: jobs, reply: silent, timeout: 1s }
      - { to: jobs, reply: answered, timeout: 1s }
  worker:
    consumes: [{ from: jobs, idempotent: true }]
    publishes: [{ to: answered }]
    requests: [{ to: silent, reply: answered, timeout: 1s }]
channels:
  jobs: { kind: queue }
  silent: { kind: queue }
  answered: { kind: queue }
",
        );
        let got: Vec<_> = found
            .iter()
            .map(|d| (d.path.as_deref().unwrap(), d.message.as_str()))
            .collect();
        // A request sent to `silent` does not count as publishing a reply to it.
        assert_eq!(
            got,
            [
                (
                    "services.asker.requests[0]",
                    "asker requests on jobs with no reply channel"
                ),
                (
                    "services.asker.requests[1]",
                    "asker waits for replies on silent, which no service publishes to"
                ),
            ]
        );
    }
}
