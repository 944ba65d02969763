//! S102 missing-timeout: a call or request that can wait forever.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Duration;

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "S102",
    name: "missing-timeout",
    severity: Severity::Error,
    summary: "a `calls` or `requests` edge has no `timeout`",
};

/// A timeout to suggest: a little over twice the callee's declared p99, else 500ms.
fn suggested_timeout(p99: Option<Duration>) -> Duration {
    let p99 = p99.map(Duration::as_millis);
    let ms = match p99 {
        Some(p99) => {
            let raw = (p99 * 2.0).max(50.0);
            // Round up to a value people write: 50ms steps under a second, 0.5s steps above.
            let step = if raw < 1000.0 { 50.0 } else { 500.0 };
            (raw / step).ceil() * step
        }
        None => 500.0,
    };
    Duration::from_millis(ms)
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = cx.call_facts();
    for k in (0..facts.count()).filter(|&k| facts.timeout(k).is_none()) {
        let (service, i, call) = facts.item(cx, k);
        let from = &service.name.value;
        // The callee's p99 as the call facts keep it, not found again by name.
        let callee = cx.sync().all_calls()[k].1;
        let timeout = suggested_timeout(facts.declared(callee)[1]);
        let d = Diagnostic::new(&META, call.span, format!("call from {from} to {} has no timeout", call.to.value))
            .label("no timeout")
            .help(format!(
                "without a timeout a slow {} holds {from}'s threads and connections until they run out: add `timeout: {timeout}` to this call (or `defaults: {{ calls: {{ timeout: {timeout} }} }}`)",
                call.to.value
            ));
        out.push(d.at_item(service, "calls", i));
    }
    for service in &cx.model.services {
        let from = &service.name.value;
        for (i, request) in service.requests.iter().enumerate() {
            if request.options.timeout.is_some() {
                continue;
            }
            let d = Diagnostic::new(&META, request.span, format!("request from {from} on {} has no timeout", request.to.value))
                .label("no timeout")
                .help(format!(
                    "a reply that never comes leaves {from} waiting forever: add `timeout: 2s` to this request (or `defaults: {{ requests: {{ timeout: 2s }} }}`)"
                ));
            out.push(d.at_item(service, "requests", i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    #[test]
    fn the_suggested_timeout_is_twice_the_callee_p99_rounded_up() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    calls: [{ to: card }, { to: slow }, { to: plain }]
  slow: { latency: { p99: 800ms } }
  plain: {}
externals:
  card: { latency: { p50: 100ms, p99: 300ms } }
",
        );
        let suggested: Vec<&str> = found
            .iter()
            .map(|d| {
                let help = d.help.as_deref().unwrap();
                let at = help.find("add `timeout: ").unwrap() + "add `timeout: ".len();
                &help[at..at + help[at..].find('`').unwrap()]
            })
            .collect();
        // An external's p99, a service's (1.6s, rounded up to half seconds above one), none.
        assert_eq!(suggested, ["600ms", "2s", "500ms"]);
    }
}
