//! S103 missing-circuit-breaker: a call with a timeout but nothing that stops calling a dependency
//! that keeps failing.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::identity::AtItem;
use super::sync_common::CallFacts;

pub const META: RuleMeta = RuleMeta {
    code: "S103",
    name: "missing-circuit-breaker",
    severity: Severity::Warning,
    summary: "a `calls` edge has a timeout but no circuit breaker",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = cx.call_facts();
    for k in 0..facts.count() {
        // A call without a timeout is S102's finding, not reported twice.
        let (Some(timeout), false) = (facts.timeout(k), facts.has(k, CallFacts::BREAKER)) else {
            continue;
        };
        let (service, i, call) = facts.item(cx, k);
        let (from, to) = (&*service.name.value, &*call.to.value);
        let label = if call.options.circuit_breaker.is_some() {
            "`circuit_breaker: false`"
        } else {
            "no circuit breaker"
        };
        // Joined from their pieces: a large topology has these by the thousand (see S105's).
        let timeout = timeout.to_string();
        let message = [
            "call from ",
            from,
            " to ",
            to,
            " has a timeout but no circuit breaker",
        ];
        let help = [
            "when ",
            to,
            " is down, every request from ",
            from,
            " still waits ",
            &timeout,
            " and fails, and ",
            to,
            " gets no room to recover: add `circuit_breaker: { failure_rate: 50%, open_for: 30s }` (or `circuit_breaker: true`) to this call, or `defaults: { calls: { circuit_breaker: true } }`",
        ];
        let d = Diagnostic::new(&META, call.span, message.concat())
            .label(label)
            .help(help.concat());
        out.push(d.at_item(service, "calls", i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    #[test]
    fn reports_absent_and_false_breakers_on_timed_calls() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    calls:
      - { to: a, timeout: 100ms }
      - { to: b, timeout: 100ms, circuit_breaker: false }
      - { to: a, timeout: 100ms, circuit_breaker: true }
      - { to: b, timeout: 100ms, circuit_breaker: { failure_rate: 50% } }
      - { to: a }
  a: {}
  b: {}
",
        );
        let paths: Vec<_> = found.iter().map(|d| d.path.as_deref().unwrap()).collect();
        assert_eq!(paths, ["services.web.calls[0]", "services.web.calls[1]"]);
        assert_eq!(
            found[0].message,
            "call from web to a has a timeout but no circuit breaker"
        );
        assert_eq!(found[1].label.as_deref(), Some("`circuit_breaker: false`"));
    }

    #[test]
    fn a_breaker_from_defaults_counts() {
        let found = run(
            check,
            "topolint: 1
defaults:
  calls: { timeout: 1s, circuit_breaker: true }
services:
  web: { calls: [{ to: ext }] }
externals:
  ext: {}
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
