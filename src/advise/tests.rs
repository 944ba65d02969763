use super::*;

const MARGIN: u32 = weights::DEFAULT_MIN_MARGIN;

fn load(yaml: &str) -> Model {
    crate::load::load_test_text(yaml).model
}

/// The advice on every advised edge of a topology.
fn advise(yaml: &str) -> Vec<Advice> {
    let model = load(yaml);
    let graph = Graph::build(&model);
    Advisor::new(&model, &graph, MARGIN).advised()
}

/// One call from `a` to `b` with the given `needs:` (flow mapping text).
fn call(needs: &str) -> Advice {
    let yaml = format!(
        "topolint: 1\nservices:\n  a:\n    calls: [{{ to: b, timeout: 1s, needs: {needs} }}]\n  b: {{}}\n"
    );
    let mut all = advise(&yaml);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// One publish from `a` to channel `c` with extra fields (flow mapping text, without braces).
fn publish(fields: &str) -> Advice {
    let yaml = format!(
        "topolint: 1\nservices:\n  a:\n    publishes: [{{ to: c, {fields} }}]\nchannels:\n  c: {{ kind: topic }}\n"
    );
    let mut all = advise(&yaml);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// The vetoed styles, each once (a style may be vetoed for two reasons).
fn vetoed(a: &Advice) -> Vec<Style> {
    let mut styles: Vec<Style> = a.vetoed.iter().map(|v| v.style).collect();
    styles.dedup();
    styles
}

#[test]
fn immediate_consistency_vetoes_async_and_cqrs_lite() {
    let a = call("{ consistency: immediate }");
    assert_eq!(vetoed(&a), [Style::Async, Style::CqrsLite]);
    assert!(a.vetoed[0].because.starts_with("`consistency: immediate`"));
    assert!(a.vetoed[0].span.is_some());
    assert_eq!(a.recommendation, Style::Sync);
    assert_eq!(a.runner_up, Some(Style::RequestReply));
}

#[test]
fn a_waiting_user_vetoes_fire_and_forget_unless_the_publish_has_feedback() {
    let a = call("{ user_waits: true }");
    assert_eq!(vetoed(&a), [Style::Async]);
    let p = publish("needs: { user_waits: true }");
    assert_eq!(vetoed(&p), [Style::Async]);
    assert!(p.vetoed[0].because.contains("feedback"));
    // X501: the declared style itself is vetoed.
    assert!(matches!(p.mismatch(MARGIN), Some(Mismatch::Vetoed(_))));
    let p = publish("feedback: notification, needs: { user_waits: true }");
    assert!(vetoed(&p).is_empty());
    let p = publish("feedback: none, needs: { user_waits: true }");
    assert_eq!(
        vetoed(&p),
        [Style::Async],
        "`feedback: none` is no feedback"
    );
}

#[test]
fn replay_vetoes_sync() {
    let a = call("{ replay: true }");
    assert_eq!(vetoed(&a), [Style::Sync]);
    assert_eq!(a.recommendation, Style::Async);
    match a.mismatch(MARGIN) {
        Some(Mismatch::Vetoed(v)) => assert_eq!(v.factor, Factor::Replay(true)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_veto_together_leaves_request_reply() {
    let a = call("{ user_waits: true, consistency: immediate, replay: true }");
    assert_eq!(vetoed(&a), [Style::Sync, Style::Async, Style::CqrsLite]);
    // Both reasons for ruling out fire-and-forget are kept.
    assert_eq!(
        a.vetoed.iter().filter(|v| v.style == Style::Async).count(),
        2
    );
    assert_eq!(a.recommendation, Style::RequestReply);
    assert_eq!((a.runner_up, a.margin, a.uncertain), (None, None, false));
    assert_eq!(
        a.verdict(MARGIN),
        "request-reply, the only style not vetoed"
    );
}

/// Each dominant constraint turns a decision the other needs make.
#[test]
fn every_dominant_constraint_flips_a_close_decision() {
    let cases = [
        // (needs without the dominant one, dominant, before, after)
        (
            "user_waits: true, decoupling: true",
            "latency",
            Style::RequestReply,
            Style::Sync,
        ),
        (
            "user_waits: true, spikes: shed",
            "resilience",
            Style::Sync,
            Style::RequestReply,
        ),
        ("user_waits: false", "simplicity", Style::Async, Style::Sync),
        (
            "user_waits: true, consistency: eventual",
            "auditability",
            Style::Sync,
            Style::CqrsLite,
        ),
        (
            "user_waits: false",
            "read-speed",
            Style::Async,
            Style::CqrsLite,
        ),
    ];
    for (needs, dominant, before, after) in cases {
        let without = call(&format!("{{ {needs} }}"));
        let with = call(&format!("{{ {needs}, dominant: {dominant} }}"));
        assert_eq!(without.recommendation, before, "{needs}");
        assert_eq!(with.recommendation, after, "{needs}, dominant: {dominant}");
        // The dominant row counts three times.
        let row = with
            .contributions
            .iter()
            .filter(|c| matches!(c.factor, Factor::Dominant(_)))
            .map(|c| c.weight)
            .collect::<Vec<_>>();
        let base = weights::row(with.needs.last().unwrap().factor).unwrap();
        let expected: Vec<i32> = base.weights.iter().map(|w| w.weight * 3).collect();
        assert_eq!(row, expected, "{dominant}");
    }
}

#[test]
fn operations_gaps_lower_every_async_style_and_absent_costs_nothing() {
    let yaml = |ops: &str| {
        format!(
            "topolint: 1\n{ops}services:\n  a:\n    calls: [{{ to: b, timeout: 1s, needs: {{ user_waits: false }} }}]\n  b: {{}}\n"
        )
    };
    let unknown = advise(&yaml("")).remove(0);
    let known = advise(&yaml("operations: { broker_experience: true }\n")).remove(0);
    assert_eq!(unknown.scores, known.scores);
    let lacking = advise(&yaml(
        "operations: { broker_experience: false, dlq_runbooks: false }\n",
    ))
    .remove(0);
    assert_eq!(lacking.score(Style::Sync), unknown.score(Style::Sync));
    for style in [Style::Async, Style::RequestReply, Style::CqrsLite] {
        assert!(lacking.score(style) < unknown.score(style), "{style}");
    }
    assert_eq!(unknown.recommendation, Style::Async);
    assert_ne!(lacking.recommendation, Style::Async);
}

#[test]
fn user_waits_is_inferred_over_calls_only_and_labelled() {
    let yaml = "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: api, timeout: 1s }]
    publishes: [{ to: jobs }]
  api:
    calls: [{ to: db-proxy, timeout: 1s }, { to: vendor, timeout: 1s }]
  db-proxy: {}
  worker:
    consumes: [{ from: jobs, idempotent: true }]
    calls: [{ to: api, timeout: 1s }]
externals:
  vendor: {}
channels:
  jobs: { kind: queue }
";
    let all = advise(yaml);
    let edges: Vec<(&str, &str)> = all.iter().map(|a| (&*a.from, &*a.to)).collect();
    // web's call, and both of api's; not worker's (behind a queue), not the publish.
    assert_eq!(
        edges,
        [("web", "api"), ("api", "db-proxy"), ("api", "vendor")]
    );
    for a in &all {
        assert!(!a.declared_needs);
        let inferred: Vec<_> = a.inferred().collect();
        assert_eq!(inferred.len(), 1);
        assert_eq!(inferred[0].factor, Factor::UserWaits(true));
        assert!(inferred[0].inferred.as_deref().unwrap().contains("web"));
        assert_eq!(a.vetoed[0].because.split(':').next(), Some("`user_waits"));
        assert!(a.vetoed[0].because.contains("(inferred)"));
        // A waiting user alone keeps a call synchronous: no mismatch with what is declared.
        assert_eq!(a.recommendation, Style::Sync);
        assert!(a.mismatch(MARGIN).is_none());
    }
}

#[test]
fn declared_user_waits_wins_over_inference() {
    let yaml = "topolint: 1
services:
  web:
    user_facing: true
    calls: [{ to: api, timeout: 1s, needs: { user_waits: false } }]
  api: {}
";
    let a = advise(yaml).remove(0);
    assert_eq!(a.inferred().count(), 0);
    assert_eq!(a.needs[0].factor, Factor::UserWaits(false));
}

#[test]
fn a_tie_says_start_synchronous() {
    // `replay: false` weighs nothing: every style scores 0.
    let a = call("{ replay: false }");
    assert_eq!(a.scores, [0; 4]);
    assert_eq!(a.recommendation, Style::Sync, "ties go to the simplest");
    assert_eq!(a.margin, Some(0));
    assert!(a.uncertain);
    assert_eq!(a.verdict(MARGIN), START_SYNC);
    assert!(a.mismatch(MARGIN).is_none());
    // A thin margin between two async styles, with sync close behind, also starts synchronous.
    let a = call("{ consistency: eventual }");
    assert_eq!(a.recommendation, Style::Async);
    assert_eq!(a.runner_up, Some(Style::CqrsLite));
    assert!(a.uncertain);
    assert_eq!(a.verdict(MARGIN), START_SYNC);
}

#[test]
fn a_thin_margin_without_sync_names_the_simpler_style() {
    let a = call("{ replay: true, consistency: eventual, spikes: shed }");
    assert!(a.is_vetoed(Style::Sync));
    assert!(a.uncertain, "{:?}", a.scores);
    assert!(
        a.verdict(MARGIN).starts_with("uncertain between"),
        "{}",
        a.verdict(MARGIN)
    );
}

#[test]
fn a_declared_style_far_behind_is_a_mismatch() {
    let a = call("{ user_waits: true, decoupling: true, spikes: absorb }");
    assert_eq!(a.recommendation, Style::RequestReply);
    assert_eq!(a.mismatch(MARGIN), Some(Mismatch::Trails(9)));
    // Within a wider margin it is not.
    assert!(a.mismatch(9).is_none());
}

#[test]
fn contributions_add_up_to_the_scores() {
    let a =
        call("{ user_waits: true, consistency: eventual, spikes: absorb, dominant: resilience }");
    for style in Style::ALL {
        let sum: i32 = a
            .contributions
            .iter()
            .filter(|c| c.style == style)
            .map(|c| c.weight)
            .sum();
        assert_eq!(sum, a.score(style), "{style}");
    }
    assert_eq!(a.contributions.len(), 4 * 4);
}
