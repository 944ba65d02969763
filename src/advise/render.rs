//! `topolint advise`: which edges to show, and the three ways to show them: a table for people,
//! JSON for tools, and one architecture decision record per edge in markdown.

use std::fmt::{self, Write};

use serde_json::{Value, json};

use crate::graph::Graph;
use crate::model::Model;
use crate::source::Sources;

use super::weights::{DOMINANT_FACTOR, Factor};
use super::{Advice, Advisor, Mismatch, Style};

/// The output formats of `advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

/// What to advise on and how to show it.
#[derive(Debug, Clone)]
pub struct Request {
    pub format: Format,
    /// `FROM->TO`: only the edges from service FROM to node TO, needs or not.
    pub edge: Option<String>,
    /// Also list the calls whose needs are all inferred and whose style already agrees.
    pub all: bool,
    /// `min-advice-margin`.
    pub min_margin: u32,
}

/// A request that cannot be answered (an `--edge` that names no edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The edges shown, and how many advised edges were left out of the list.
pub struct Selection {
    pub edges: Vec<Advice>,
    pub omitted: usize,
}

/// Picks the edges to show. Without `--edge` and `--all`, calls whose needs are all inferred
/// and whose declared style already agrees are counted, not listed: on a large system they
/// are most of the calls and say nothing new.
pub fn select(model: &Model, graph: &Graph, request: &Request) -> Result<Selection, Error> {
    let advisor = Advisor::new(model, graph, request.min_margin);
    if let Some(spec) = &request.edge {
        let Some((from, to)) = spec.split_once("->") else {
            return Err(Error(format!(
                "`--edge` takes FROM->TO, such as `storefront->orders`, not `{spec}`"
            )));
        };
        let (from, to) = (from.trim(), to.trim());
        let edges = advisor.between(from, to);
        if edges.is_empty() {
            let names: Vec<String> = model
                .services
                .iter()
                .flat_map(|s| {
                    let targets = s
                        .calls
                        .iter()
                        .map(|c| &c.to)
                        .chain(s.publishes.iter().map(|p| &p.to))
                        .chain(s.requests.iter().map(|r| &r.to));
                    targets.map(move |t| format!("{}->{}", s.name.value, t.value))
                })
                .collect();
            let hint = crate::suggest::hint(spec, names.iter().map(String::as_str));
            return Err(Error(format!(
                "no calls, publishes or requests edge from `{from}` to `{to}`{hint}"
            )));
        }
        return Ok(Selection { edges, omitted: 0 });
    }
    let mut edges = Vec::new();
    let mut omitted = 0;
    for advice in advisor.advised() {
        if request.all || advice.declared_needs || advice.mismatch(request.min_margin).is_some() {
            edges.push(advice);
        } else {
            omitted += 1;
        }
    }
    Ok(Selection { edges, omitted })
}

/// Advises on a loaded topology and renders the advice.
pub fn run(model: &Model, sources: &Sources, request: &Request) -> Result<String, Error> {
    let graph = Graph::build(model);
    let selection = select(model, &graph, request)?;
    let m = request.min_margin;
    Ok(match request.format {
        Format::Human => human(&selection, sources, m),
        Format::Json => json(&selection, sources, m),
        Format::Markdown => markdown(&selection, model, sources, m),
    })
}

fn signed(n: i32) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// `user_waits: true`, `dominant: latency (x3)`, `user_waits: true (inferred)`.
fn need_label(factor: Factor, inferred: bool) -> String {
    let mut label = factor.label();
    if matches!(factor, Factor::Dominant(_)) {
        label.push_str(&format!(" (x{DOMINANT_FACTOR})"));
    }
    if inferred {
        label.push_str(" (inferred)");
    }
    label
}

fn location(sources: &Sources, advice: &Advice) -> String {
    let file = sources.get(advice.span.file);
    format!("{}:{}", file.name, file.position(advice.span.start).line)
}

fn score_text(advice: &Advice, style: Style) -> String {
    if advice.is_vetoed(style) {
        format!("vetoed ({})", advice.score(style))
    } else {
        advice.score(style).to_string()
    }
}

/// The factors × styles grid of one edge, as rows of text cells.
fn factor_rows(advice: &Advice) -> Vec<(Factor, bool, [i32; 4])> {
    advice
        .needs
        .iter()
        .filter_map(|need| {
            let cells: Vec<_> = advice
                .contributions
                .iter()
                .filter(|c| c.factor == need.factor)
                .collect();
            if cells.is_empty() {
                return None;
            }
            let mut weights = [0; 4];
            for c in cells {
                weights[c.style.index()] = c.weight;
            }
            Some((need.factor, need.inferred.is_some(), weights))
        })
        .collect()
}

fn human(selection: &Selection, sources: &Sources, min_margin: u32) -> String {
    let mut out = String::new();
    if selection.edges.is_empty() {
        out.push_str("no edge declares `needs:` and none has needs topolint can infer\n");
    } else {
        let header = ["edge", "kind", "declared", "advice", "runner-up", "margin"];
        let rows: Vec<[String; 6]> = selection
            .edges
            .iter()
            .map(|a| {
                let margin = match a.margin {
                    Some(m) if a.uncertain => format!("{m} uncertain"),
                    Some(m) => m.to_string(),
                    None => "-".into(),
                };
                [
                    format!("{} -> {}", a.from, a.to),
                    a.kind.as_str().to_string(),
                    a.declared.to_string(),
                    a.recommendation.to_string(),
                    a.runner_up.map_or("-".into(), |s| s.to_string()),
                    margin,
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[&str]| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(cell);
                } else {
                    let _ = write!(s, "{cell:<w$}  ", w = widths[i]);
                }
            }
            s.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&header));
        for row in &rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            out.push_str(&line(&cells));
        }
        for a in &selection.edges {
            out.push('\n');
            let _ = writeln!(
                out,
                "{} -> {} ({})  {}  {}",
                a.from,
                a.to,
                a.kind.as_str(),
                location(sources, a),
                a.path
            );
            let needs: Vec<String> = a
                .needs
                .iter()
                .map(|n| need_label(n.factor, n.inferred.is_some()))
                .collect();
            let needs = if needs.is_empty() {
                "none declared or inferred".to_string()
            } else {
                needs.join(", ")
            };
            let _ = writeln!(out, "  needs:     {needs}");
            for n in a.inferred() {
                if let Some(why) = &n.inferred {
                    let _ = writeln!(out, "  inferred:  {}: {why}", n.factor.label());
                }
            }
            for v in &a.vetoed {
                let _ = writeln!(out, "  vetoed:    {}: {}", v.style, v.because);
            }
            let scores: Vec<String> = Style::ALL
                .iter()
                .map(|s| format!("{s} {}", score_text(a, *s)))
                .collect();
            let _ = writeln!(out, "  scores:    {}", scores.join(", "));
            let rows: Vec<(String, [i32; 4])> = factor_rows(a)
                .into_iter()
                .map(|(f, inferred, w)| (need_label(f, inferred), w))
                .collect();
            if !rows.is_empty() {
                let w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "  {:<w$}  {:>5}  {:>5}  {:>13}  {:>9}",
                    "factor", "sync", "async", "request-reply", "cqrs-lite"
                );
                for (label, weights) in rows {
                    let _ = writeln!(
                        out,
                        "  {label:<w$}  {:>5}  {:>5}  {:>13}  {:>9}",
                        signed(weights[0]),
                        signed(weights[1]),
                        signed(weights[2]),
                        signed(weights[3])
                    );
                }
            }
            let _ = writeln!(out, "  advice:    {}", a.verdict(min_margin));
            if let Some(m) = a.mismatch(min_margin) {
                let _ = writeln!(out, "  mismatch:  {} (X501)", mismatch_text(a, &m));
            }
        }
    }
    if selection.omitted > 0 {
        let _ = writeln!(
            out,
            "\n{} more {} only an inferred `user_waits: true` and {} already synchronous; `--all` lists {}",
            selection.omitted,
            if selection.omitted == 1 {
                "call has"
            } else {
                "calls have"
            },
            if selection.omitted == 1 { "is" } else { "are" },
            if selection.omitted == 1 { "it" } else { "them" },
        );
    }
    out
}

fn mismatch_text(a: &Advice, m: &Mismatch) -> String {
    match m {
        Mismatch::Vetoed(v) => format!("declared {} is vetoed by {}", a.declared, v.because),
        Mismatch::Trails(gap) => format!(
            "declared {} trails {} by {gap}, more than the margin",
            a.declared, a.recommendation
        ),
    }
}

fn json(selection: &Selection, sources: &Sources, min_margin: u32) -> String {
    let edges: Vec<Value> = selection
        .edges
        .iter()
        .map(|a| {
            let file = sources.get(a.span.file);
            let (start, end) = sources.range(a.span);
            json!({
                "from": a.from,
                "to": a.to,
                "edge": a.kind.as_str(),
                "path": a.path,
                "file": file.name,
                "span": {
                    "start": a.span.start,
                    "end": a.span.end,
                    "line": start.line,
                    "column": start.column,
                    "end_line": end.line,
                    "end_column": end.column,
                },
                "declared": a.declared.as_str(),
                "recommendation": a.recommendation.as_str(),
                "runner_up": a.runner_up.map(Style::as_str),
                "margin": a.margin,
                "uncertain": a.uncertain,
                "advice": a.verdict(min_margin),
                "mismatch": a.mismatch(min_margin).is_some(),
                "scores": Style::ALL.iter().map(|s| (s.as_str().to_string(), json!(a.score(*s)))).collect::<serde_json::Map<_, _>>(),
                "vetoed": a.vetoed.iter().map(|v| json!({"style": v.style.as_str(), "because": v.because})).collect::<Vec<_>>(),
                "needs": a.needs.iter().filter(|n| n.inferred.is_none()).map(|n| n.factor.label()).collect::<Vec<_>>(),
                "inferred": a.inferred().map(|n| n.factor.label()).collect::<Vec<_>>(),
                "reasons": a.contributions.iter().map(|c| json!({
                    "need": c.factor.label(),
                    "style": c.style.as_str(),
                    "weight": c.weight,
                    "why": c.why,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let report = json!({
        "version": 1,
        "min_advice_margin": min_margin,
        "edges": edges,
        "omitted": selection.omitted,
    });
    // Serializing a `Value` cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// What each style asks of the team, drawn from the rules that check it.
struct Consequences {
    build: &'static [&'static str],
    monitor: &'static [&'static str],
    fails: &'static str,
}

fn consequences(style: Style) -> Consequences {
    match style {
        Style::Sync => Consequences {
            build: &[
                "a `timeout` on the call, a little above the callee's worst case (S102, S105)",
                "a circuit breaker, so that a callee that keeps failing stops being called for a while (S103)",
                "retries within a budget, not multiplied hop after hop (S104)",
                "a shallow chain, or an end-to-end `budget` on the entrypoint (S101, S106)",
            ],
            monitor: &[
                "the call's error rate and p99 latency",
                "the circuit breaker's state, and the caller's busy threads or connections",
            ],
            fails: "fast and visibly: a slow callee shows up at once as timeouts and errors, and without a breaker the wait climbs towards the user",
        },
        Style::Async => Consequences {
            build: &[
                "idempotent consumers, because every broker delivers some messages twice (A201)",
                "a dead-letter channel and a runbook to replay it (A202)",
                "an outbox or CDC, so that the database write and the message cannot part ways (D401)",
                "a bound on the queue (`max_depth` with an `overflow`), the backpressure a queue lacks by default (A205)",
                "a versioned contract with a compatibility policy (C301, C302)",
                "`feedback` to the user when a user's action is accepted here (A207)",
            ],
            monitor: &[
                "queue depth and the age of the oldest message (A203)",
                "dead-letter depth (A204), and consumer lag",
            ],
            fails: "slowly and out of sight: a backlog grows while the producer carries on, or a poison message stalls the queue",
        },
        Style::RequestReply => Consequences {
            build: &[
                "a reply channel that the callee answers on (A208)",
                "a `timeout` on the request, so that a reply that never comes cannot hold the requester (S102)",
                "an idempotent handler and a dead letter for the request queue (A201, A202)",
                "a `max_depth` with `overflow: reject`, so that the edge refuses work when the queue is deep (A205)",
            ],
            monitor: &[
                "the request queue's depth and oldest-message age (A203)",
                "reply latency and the requester's timeouts",
            ],
            fails: "as a slow answer or a timeout at the requester while the queue backs up; the queue keeps requests through the callee's restarts",
        },
        Style::CqrsLite => Consequences {
            build: &[
                "writes as events, with everything async needs: idempotent consumers, a dead letter, an outbox (A201, A202, D401)",
                "a read model that those events keep up to date, read synchronously with a `timeout` (S102)",
                "a way for users to read their own writes (route their reads to the write side for a moment, or cache client-side)",
            ],
            monitor: &[
                "projection lag: the age of the oldest event not yet applied to the view",
                "dead-letter depth of the event channel (A204), and read latency",
            ],
            fails: "as stale reads after a write; a stuck projection shows old data rather than errors",
        },
    }
}

fn markdown(selection: &Selection, model: &Model, sources: &Sources, min_margin: u32) -> String {
    let mut out = String::new();
    for (n, a) in selection.edges.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        record(&mut out, a, model, sources, min_margin);
    }
    if selection.omitted > 0 {
        let _ = writeln!(
            out,
            "\n_{} more calls have only an inferred `user_waits: true` and are already synchronous; `topolint advise --all` writes their records too._",
            selection.omitted
        );
    }
    if out.is_empty() {
        out.push_str("_No edge declares `needs:`, and none has needs topolint can infer._\n");
    }
    out
}

fn record(out: &mut String, a: &Advice, model: &Model, sources: &Sources, min_margin: u32) {
    let _ = writeln!(out, "# {} -> {}: {}\n", a.from, a.to, a.recommendation);
    let _ = writeln!(
        out,
        "- Status: proposed by `topolint advise`\n- Edge: `{}` ({}), declared as {}",
        a.path,
        location(sources, a),
        a.declared
    );
    out.push_str("\n## Context\n\n");
    let _ = writeln!(
        out,
        "The {} is declared {}. What the edge needs:\n",
        a.describe(),
        a.declared
    );
    let mut any = false;
    for need in a
        .needs
        .iter()
        .filter(|n| n.span.is_some() || n.inferred.is_some())
    {
        if matches!(
            need.factor,
            Factor::NoBrokerExperience | Factor::NoDlqRunbooks
        ) {
            continue;
        }
        any = true;
        match &need.inferred {
            Some(why) => {
                let _ = writeln!(out, "- `{}`, inferred: {why}", need.factor.label());
            }
            None => {
                let _ = writeln!(out, "- `{}`, declared", need.factor.label());
            }
        }
    }
    if !any {
        out.push_str("- nothing declared, and nothing topolint can infer\n");
    }
    out.push('\n');
    out.push_str(&operations_text(model));
    out.push_str("\n## Options considered\n\n| style | score | verdict |\n| --- | ---: | --- |\n");
    let mut order: Vec<Style> = Style::ALL.to_vec();
    order.sort_by_key(|s| (a.is_vetoed(*s), -a.score(*s), *s));
    for style in order {
        let reasons: Vec<&str> = a
            .vetoed
            .iter()
            .filter(|v| v.style == style)
            .map(|v| v.because.as_str())
            .collect();
        let verdict = if !reasons.is_empty() {
            format!("vetoed: {}", reasons.join("; "))
        } else if style == a.recommendation {
            "recommended".to_string()
        } else if Some(style) == a.runner_up {
            "runner-up".to_string()
        } else {
            String::new()
        };
        let _ = writeln!(out, "| {style} | {} | {verdict} |", a.score(style));
    }
    let rows = factor_rows(a);
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "\nHow each need weighed (the `dominant` one counts {DOMINANT_FACTOR} times; `topolint explain X501` gives every weight's reason):\n"
        );
        out.push_str(
            "| need | sync | async | request-reply | cqrs-lite |\n| --- | ---: | ---: | ---: | ---: |\n",
        );
        for (factor, inferred, w) in rows {
            let mut label = format!("`{}`", factor.label());
            if matches!(factor, Factor::Dominant(_)) {
                label.push_str(&format!(" (x{DOMINANT_FACTOR})"));
            }
            if inferred {
                label.push_str(" (inferred)");
            }
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} |",
                signed(w[0]),
                signed(w[1]),
                signed(w[2]),
                signed(w[3])
            );
        }
    }
    out.push_str("\n## Decision\n\n");
    let decision = a.verdict(min_margin);
    if a.uncertain {
        let _ = writeln!(out, "{}{}.", decision[..1].to_uppercase(), &decision[1..]);
    } else {
        let best = a.recommendation;
        let _ = match (a.runner_up, a.margin) {
            (Some(r), Some(m)) => writeln!(
                out,
                "Use **{best}**: it scores {}, {m} ahead of the runner-up, {r}.",
                a.score(best)
            ),
            _ => writeln!(
                out,
                "Use **{best}**, the only style that no hard constraint rules out."
            ),
        };
    }
    out.push('\n');
    match a.mismatch(min_margin) {
        Some(m) => {
            let _ = writeln!(
                out,
                "The edge is declared {}, which disagrees: {} (X501 style-mismatch).",
                a.declared,
                mismatch_text(a, &m)
            );
        }
        None if a.declared == a.recommendation => {
            let _ = writeln!(out, "The edge is already declared {}.", a.declared);
        }
        None => {
            let _ = writeln!(
                out,
                "The edge is declared {}, within the margin of the recommendation: keep it until a measured problem says otherwise.",
                a.declared
            );
        }
    }
    // The consequences of the style the team will live with: the recommendation, unless the
    // margin is thin and the declared style is close enough to keep.
    let chosen = if a.mismatch(min_margin).is_none() {
        a.declared
    } else {
        a.recommendation
    };
    let c = consequences(chosen);
    let _ = writeln!(out, "\n## Consequences\n\nWith {chosen}, build:\n");
    for item in c.build {
        let _ = writeln!(out, "- {item}");
    }
    out.push_str("\nMonitor:\n\n");
    for item in c.monitor {
        let _ = writeln!(out, "- {item}");
    }
    let _ = writeln!(out, "\nHow it fails: {}.", c.fails);
}

fn operations_text(model: &Model) -> String {
    let Some(ops) = &model.operations else {
        return "`operations:` does not say what the team can run, so no style is marked down for it.\n".into();
    };
    let say = |field: &Option<crate::model::Spanned<bool>>, yes: &str, no: &str| match field {
        Some(f) if f.value => yes.to_string(),
        Some(_) => no.to_string(),
        None => String::new(),
    };
    let parts: Vec<String> = [
        say(
            &ops.broker_experience,
            "runs a message broker in production",
            "has not run a message broker in production (async styles lose points)",
        ),
        say(
            &ops.dlq_runbooks,
            "watches dead letters by a runbook",
            "has no dead-letter runbooks (async styles lose points)",
        ),
        say(
            &ops.tracing,
            "traces requests across services",
            "has no cross-service tracing",
        ),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    if parts.is_empty() {
        return "`operations:` says nothing about the team, so no style is marked down for it.\n"
            .into();
    }
    let text = match parts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("The team {text}.\n")
}
