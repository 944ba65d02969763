//! X501 style-mismatch: an edge is declared in a style that its own needs rule out, or that
//! scores well below the style they favour (see `topolint advise`).

use crate::advise::weights::DOMINANT_FACTOR;
use crate::advise::{Advice, Advisor, Mismatch, Style};
use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

use super::Context;
use super::sync_common::CallFacts;

pub const META: RuleMeta = RuleMeta {
    code: "X501",
    name: "style-mismatch",
    severity: Severity::Warning,
    summary: "an edge's declared style is vetoed by its needs, or trails the style they favour by more than `min-advice-margin`",
};

/// How to move an edge to a style, in the format's words.
fn how_to(style: Style) -> &'static str {
    match style {
        Style::Sync => "make it a call (`calls:` with a `timeout` and a `circuit_breaker`)",
        Style::Async => {
            "publish an event instead (`publishes:` to a channel that the other side consumes idempotently)"
        }
        Style::RequestReply => {
            "send it as a request with an answer on a reply channel (`requests: [{ to: <queue>, reply: <queue>, timeout: 2s }]`)"
        }
        Style::CqrsLite => {
            "publish the writes as events and serve the reads from a view that those events keep up to date (CQRS-lite)"
        }
    }
}

fn diagnostic(advice: &Advice, mismatch: &Mismatch, margin: u32) -> Diagnostic {
    let edge = advice.describe();
    let (declared, best) = (advice.declared, advice.recommendation);
    let command = format!(
        "`topolint advise --edge {}->{}` lists every factor",
        advice.from, advice.to
    );
    match mismatch {
        Mismatch::Vetoed(veto) => {
            let why = veto.why;
            let mut d = Diagnostic::new(
                &META,
                advice.span,
                format!(
                    "{edge} is {declared}, which its `{}` rules out",
                    veto.factor.label()
                ),
            )
            .label(format!("declared {declared}"))
            .help(format!(
                "{why}; advice for this edge: {}; to follow it, {}, or correct `needs:` if it does not hold; {command}",
                advice.verdict(margin),
                how_to(best)
            ));
            if let Some(span) = veto.span {
                d = d.related(span, format!("rules out {declared}"));
            }
            d
        }
        Mismatch::Trails(gap) => {
            let mut d = Diagnostic::new(
                &META,
                advice.span,
                format!("{edge} is {declared}, but its needs favour {best} by {gap} points"),
            )
            .label(format!("declared {declared}"))
            .help(format!(
                "{declared} scores {} and {best} {}; advice for this edge: {}; to follow it, {}, or correct `needs:` if they do not hold; {command}; `min-advice-margin` ({margin}) sets how far a declared style may trail",
                advice.score(declared),
                advice.score(best),
                advice.verdict(margin),
                how_to(best)
            ));
            // Point at the declared need that pulls hardest towards the recommendation.
            let pull = advice
                .needs
                .iter()
                .filter(|n| n.span.is_some())
                .map(|n| {
                    let weight = |s: Style| {
                        advice
                            .contributions
                            .iter()
                            .find(|c| c.factor == n.factor && c.style == s)
                            .map_or(0, |c| c.weight)
                    };
                    (weight(best) - weight(declared), n)
                })
                .filter(|(pull, _)| *pull > 0)
                .max_by_key(|(pull, _)| *pull);
            if let Some((pull, need)) = pull {
                let times = if matches!(need.factor, crate::advise::weights::Factor::Dominant(_)) {
                    format!(", counted {DOMINANT_FACTOR} times")
                } else {
                    String::new()
                };
                d = d.related(
                    need.span.unwrap_or(advice.span),
                    format!("favours {best} by {pull}{times}"),
                );
            }
            d
        }
    }
    .path(advice.path.clone())
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let margin = cx.settings.min_advice_margin;
    let facts = cx.call_facts();
    let mut calls_with_needs = vec![false; cx.model.services.len()];
    for k in facts.with(CallFacts::NEEDS) {
        calls_with_needs[facts.caller(k)] = true;
    }
    let advisor =
        Advisor::new(cx.model, cx.graph, margin).knowing_calls_with_needs(calls_with_needs);
    for advice in advisor.mismatched() {
        if let Some(mismatch) = advice.mismatch(margin) {
            out.push(diagnostic(&advice, &mismatch, margin));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    /// An entrypoint's three calls: without needs, with a veto of sync, and with needs that
    /// favour request-reply.
    const WEB: &str = "  web:
    user_facing: true
    calls:
      - { to: api, timeout: 1s }
      - { to: ledger, timeout: 1s, needs: { replay: true } }
      - { to: fraud, timeout: 1s, needs: { decoupling: true, spikes: absorb } }
";

    #[test]
    fn reports_vetoed_and_trailing_styles() {
        let yaml =
            format!("topolint: 1\nservices:\n{WEB}  api: {{}}\n  ledger: {{}}\n  fraud: {{}}\n");
        let found = run(check, &yaml);
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "call from web to ledger is sync, which its `replay: true` rules out",
                "call from web to fraud is sync, but its needs favour request-reply by 9 points",
            ]
        );
        assert_eq!(found[0].path.as_deref(), Some("services.web.calls[1]"));
        assert_eq!(found[0].related[0].label, "rules out sync");
        assert!(
            found[1].related[0]
                .label
                .starts_with("favours request-reply by")
        );
        assert!(
            found[1]
                .help
                .as_deref()
                .unwrap()
                .contains("--edge web->fraud")
        );
    }

    #[test]
    fn inferred_needs_alone_never_fire() {
        let found = run(
            check,
            "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: api, timeout: 1s }]
    publishes: [{ to: jobs }]
  api:
    calls: [{ to: db, timeout: 1s }]
  db: {}
channels:
  jobs: { kind: queue }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn deciding_needs_free_calls_once_finds_what_advising_each_edge_finds() {
        // Needs-free calls under two entrypoints, calls with needs, and operations gaps, which
        // weigh on every edge.
        let yaml = &format!(
            "topolint: 1
operations: {{ broker_experience: false, dlq_runbooks: false, tracing: false }}
services:
{WEB}  shop:
    user_facing: true
    calls: [{{ to: api, timeout: 1s }}, {{ to: ledger, timeout: 1s }}]
  api:
    calls: [{{ to: ledger, timeout: 1s }}, {{ to: fraud, timeout: 1s, needs: {{ consistency: immediate }} }}]
  ledger: {{}}
  fraud: {{}}
"
        );
        let found: Vec<String> = run(check, yaml)
            .into_iter()
            .map(|d| d.path.expect("X501 has a path"))
            .collect();
        let loaded = crate::load::load_test_text(yaml);
        let graph = crate::graph::Graph::build(&loaded.model);
        let margin = crate::lints::Settings::default().min_advice_margin;
        let advisor = Advisor::new(&loaded.model, &graph, margin);
        let mut expected: Vec<String> = advisor
            .advised()
            .into_iter()
            .filter(|a| a.mismatch(margin).is_some())
            .map(|a| a.path)
            .collect();
        expected.sort();
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(!found.is_empty());
        // Every needs-free call was advised, and none mismatched.
        let mut needs_free = 0;
        advisor.each_advised(|_, _, _, declares| needs_free += usize::from(!declares));
        assert_eq!(needs_free, 4);
    }
}
