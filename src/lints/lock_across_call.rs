//! S109 lock-across-call: a transaction (and its locks) held open while waiting on another service.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::identity::AtItem;
use super::sync_common::{CallFacts, attempts};

pub const META: RuleMeta = RuleMeta {
    code: "S109",
    name: "lock-across-call",
    severity: Severity::Warning,
    summary: "a `calls` edge is made with a database transaction open (`in_transaction: true`)",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = cx.call_facts();
    for k in facts.with(CallFacts::IN_TRANSACTION) {
        let (service, i, call) = facts.item(cx, k);
        let from = &service.name.value;
        let to = &call.to.value;
        let held = match &call.options.timeout {
            Some(t) => {
                let n = attempts(&call.options);
                if n > 1 {
                    format!("up to {} on each of {n} attempts", t.value)
                } else {
                    format!("up to {}", t.value)
                }
            }
            None => "with no timeout to end it".to_string(),
        };
        out.push(
            Diagnostic::new(
                &META,
                call.span,
                format!("{from} holds a transaction open across its call to {to}"),
            )
            .label("transaction open during the call")
            .help(format!(
                "the rows {from} locked stay locked and its connection stays checked out as long as {to} takes, {held}: call {to} before the transaction starts or after it commits and remove `in_transaction: true`; when the follow-up must not be lost, record it in the transaction through an outbox (`publishes: [{{ to: <channel>, via: outbox }}]`)"
            ))
            .at_item(service, "calls", i),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    #[test]
    fn reports_only_true() {
        let found = run(
            check,
            "topolint: 1
services:
  orders:
    calls:
      - { to: payments, timeout: 1s, retries: 1, in_transaction: true }
      - { to: payments, timeout: 1s, in_transaction: false }
      - { to: payments, timeout: 1s }
  payments: {}
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "orders holds a transaction open across its call to payments"
        );
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap()
                .contains("up to 1s on each of 2 attempts")
        );
        assert_eq!(found[0].path.as_deref(), Some("services.orders.calls[0]"));
    }
}
