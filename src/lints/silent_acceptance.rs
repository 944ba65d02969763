//! A207 silent-acceptance: a user's action is accepted and the user never learns the outcome.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Feedback;

use super::Context;
use super::identity::AtItem;

pub const META: RuleMeta = RuleMeta {
    code: "A207",
    name: "silent-acceptance",
    severity: Severity::Error,
    summary: "a publish with `user_action: true` has no `feedback` (or `feedback: none`)",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.services {
        let name = &service.name.value;
        for (i, publish) in service.publishes.iter().enumerate() {
            let Some(action) = publish.user_action.as_ref().filter(|u| u.value) else {
                continue;
            };
            let none = match &publish.feedback {
                Some(f) if f.value != Feedback::None => continue,
                Some(f) => Some(f.span),
                None => None,
            };
            let to = &publish.to.value;
            let message = match none {
                Some(_) => format!(
                    "{name} accepts a user action by publishing to {to} with `feedback: none`"
                ),
                None => {
                    format!("{name} accepts a user action by publishing to {to} with no feedback")
                }
            };
            let mut d = Diagnostic::new(&META, publish.span, message)
                .label("the user hears only \"accepted\"")
                .related(action.span, "the user is answered here");
            if let Some(span) = none {
                d = d.related(span, "no way to learn the outcome");
            }
            out.push(
                d.help("the work can still fail after the user was told it was accepted: tell them how it turned out with `feedback: status-endpoint` (or `notification`, `websocket`) on the publish")
                    .at_item(service, "publishes", i),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_user_actions_without_feedback() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    publishes:
      - { to: q, user_action: true }
      - { to: q, user_action: true, feedback: none }
      - { to: q, user_action: true, feedback: websocket }
      - { to: q, user_action: false }
      - { to: q }
channels:
  q: { kind: queue }
",
        );
        let got: Vec<_> = found
            .iter()
            .map(|d| (d.path.as_deref().unwrap(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "services.web.publishes[0]",
                    "web accepts a user action by publishing to q with no feedback"
                ),
                (
                    "services.web.publishes[1]",
                    "web accepts a user action by publishing to q with `feedback: none`"
                ),
            ]
        );
    }
}
