//! A201 non-idempotent-consumer: a consumer that processes a redelivered message twice.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "A201",
    name: "non-idempotent-consumer",
    severity: Severity::Error,
    summary: "a `consumes` edge declares neither `idempotent: true` nor `idempotency:`",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        let name = &service.name.value;
        for (i, consume) in service.consumes.iter().enumerate() {
            if consume.idempotency.is_some() || consume.idempotent.as_ref().is_some_and(|b| b.value)
            {
                continue;
            }
            let declared_false = consume.idempotent.is_some();
            let message = if declared_false {
                format!(
                    "{name} consumes {} and declares itself not idempotent",
                    consume.from.value
                )
            } else {
                format!("{name} consumes {} without idempotency", consume.from.value)
            };
            out.push(
                Diagnostic::new(&META, consume.span, message)
                    .label("not idempotent")
                    .help(format!(
                        "brokers redeliver after timeouts and crashes, so {name} will see some messages twice: deduplicate with `idempotency: {{ key: <message id field>, store: <datastore> }}`, or declare `idempotent: true` when a repeat is harmless"
                    ))
                    .at_item(service, "consumes", i),
            );
        }
    }
}
