//! Decision support: for each edge, which way should the two sides talk (synchronously, by
//! fire-and-forget messages, by async request-reply, or CQRS-lite), judged from what the edge
//! says it needs (`needs:`), what topolint can infer, and what the team can operate
//! (`operations:`). See ADVISE.md; the weights and their reasons are in [`weights`].
//!
//! The computation: hard constraints veto styles, every need adds its row of weights (the
//! `dominant` one three times), gaps in `operations` lower the async styles, and the best
//! score wins, with the runner-up and the margin shown so the answer can be argued with.

pub mod infer;
pub mod render;
pub mod weights;

use crate::graph::{EdgeKind, Graph};
use crate::model::{Consistency, Feedback, Model, Needs};
use crate::source::Span;

pub use render::{Format, Request, run};
use weights::{DOMINANT_FACTOR, Factor};

/// The ways two services can talk, in order of moving parts (ties go to the simpler one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Style {
    /// A synchronous call (`calls`).
    Sync,
    /// Fire-and-forget messages (`publishes`).
    Async,
    /// A request on a queue and an answer on a reply channel (`requests`).
    RequestReply,
    /// Writes as events, reads synchronous against views the events keep up to date.
    CqrsLite,
}

impl Style {
    pub const ALL: [Style; 4] = [
        Style::Sync,
        Style::Async,
        Style::RequestReply,
        Style::CqrsLite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Style::Sync => "sync",
            Style::Async => "async",
            Style::RequestReply => "request-reply",
            Style::CqrsLite => "cqrs-lite",
        }
    }

    /// The column of the style in the weights table.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the style needs a broker (and so the operations that go with one).
    pub fn is_async(self) -> bool {
        self != Style::Sync
    }

    /// The style an edge of this kind declares.
    pub fn of_edge(kind: EdgeKind) -> Style {
        match kind {
            EdgeKind::Publish => Style::Async,
            EdgeKind::Request => Style::RequestReply,
            _ => Style::Sync,
        }
    }
}

impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A need of an edge: declared in its `needs:` (with the value's span), or inferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub factor: Factor,
    pub span: Option<Span>,
    /// For an inferred need: why topolint believes it.
    pub inferred: Option<String>,
}

/// A style that a hard constraint rules out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    pub style: Style,
    pub factor: Factor,
    /// The need and the reason: "`replay: true`: a synchronous write leaves no event to replay".
    pub because: String,
    /// The reason alone.
    pub why: &'static str,
    /// The need's value, when declared.
    pub span: Option<Span>,
}

/// What one factor adds to one style's score (already multiplied when it is the dominant one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub factor: Factor,
    pub style: Style,
    pub weight: i32,
    pub why: &'static str,
}

/// The advice for one edge.
#[derive(Debug, Clone)]
pub struct Advice {
    pub kind: EdgeKind,
    /// The service whose list holds the edge, and the item's index in that list.
    pub service: usize,
    pub item: usize,
    pub from: String,
    pub to: String,
    /// As diagnostics print it: `services.web.calls[0]`.
    pub path: String,
    /// The edge's list item.
    pub span: Span,
    pub declared: Style,
    /// Whether the edge has a `needs:` map (else every need here is inferred).
    pub declared_needs: bool,
    /// The needs that were weighed, declared and inferred, then the operations gaps.
    pub needs: Vec<Need>,
    pub vetoed: Vec<Veto>,
    pub contributions: Vec<Contribution>,
    /// Per style, in [`Style::ALL`] order; vetoed styles keep their score for the record.
    pub scores: [i32; 4],
    pub recommendation: Style,
    pub runner_up: Option<Style>,
    /// The recommendation's lead over the runner-up.
    pub margin: Option<i32>,
    /// The margin is below `min-advice-margin`.
    pub uncertain: bool,
}

/// Why a declared style disagrees with the advice (what X501 reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch<'a> {
    /// A hard constraint rules the declared style out.
    Vetoed(&'a Veto),
    /// The declared style trails the recommendation by this many points, more than the margin.
    Trails(i32),
}

/// The advice text for a thin margin, as the guide puts it.
pub const START_SYNC: &str =
    "uncertain: start synchronous and move to async where a measured problem demands it";

impl Advice {
    pub fn score(&self, style: Style) -> i32 {
        self.scores[style.index()]
    }

    pub fn is_vetoed(&self, style: Style) -> bool {
        self.vetoed.iter().any(|v| v.style == style)
    }

    /// Needs that topolint inferred.
    pub fn inferred(&self) -> impl Iterator<Item = &Need> {
        self.needs.iter().filter(|n| n.inferred.is_some())
    }

    /// The advice in one line: the recommendation, or what to do when the margin is thin.
    pub fn verdict(&self, min_margin: u32) -> String {
        let best = self.recommendation;
        if !self.uncertain {
            return match (self.runner_up, self.margin) {
                (Some(r), Some(m)) => format!("{best}, by {m} over {r}"),
                _ => format!("{best}, the only style not vetoed"),
            };
        }
        // Sync is close when a declared sync would not be a mismatch (X501).
        let sync_close = !self.is_vetoed(Style::Sync)
            && self.score(best) - self.score(Style::Sync) <= min_margin as i32;
        if sync_close {
            return START_SYNC.to_string();
        }
        // Sync is vetoed or far behind: "start synchronous" would contradict the scores, so
        // start with the simpler of the two close styles instead.
        let runner = self.runner_up.unwrap_or(best);
        format!(
            "uncertain between {best} and {runner}: start with {}, the one with fewer moving parts, and change where a measured problem demands it",
            best.min(runner)
        )
    }

    /// Whether, and why, the declared style disagrees with the advice.
    pub fn mismatch(&self, min_margin: u32) -> Option<Mismatch<'_>> {
        if let Some(veto) = self.vetoed.iter().find(|v| v.style == self.declared) {
            return Some(Mismatch::Vetoed(veto));
        }
        let gap = self.score(self.recommendation) - self.score(self.declared);
        (gap > min_margin as i32).then_some(Mismatch::Trails(gap))
    }

    /// `call from a to b`, `publish from a to c`, `request from a on c`.
    pub fn describe(&self) -> String {
        match self.kind {
            EdgeKind::Publish => format!("publish from {} to {}", self.from, self.to),
            EdgeKind::Request => format!("request from {} on {}", self.from, self.to),
            _ => format!("call from {} to {}", self.from, self.to),
        }
    }
}

/// Computes advice over one model. Holds what every edge shares: who waits on whom, and what
/// the team cannot operate.
pub struct Advisor<'m> {
    model: &'m Model,
    waiting: Vec<Option<u32>>,
    /// Per service, whether any of its calls declares `needs`, when the caller knows it already
    /// (see [`Advisor::knowing_calls_with_needs`]); `None`: each call is read.
    calls_with_needs: Option<Vec<bool>>,
    operations: Vec<Need>,
    min_margin: u32,
}

impl<'m> Advisor<'m> {
    pub fn new(model: &'m Model, graph: &Graph, min_margin: u32) -> Advisor<'m> {
        let mut operations = Vec::new();
        if let Some(ops) = &model.operations {
            for (field, factor) in [
                (&ops.broker_experience, Factor::NoBrokerExperience),
                (&ops.dlq_runbooks, Factor::NoDlqRunbooks),
            ] {
                // An absent field is unknown, not a gap: it costs nothing.
                if let Some(f) = field.as_ref().filter(|f| !f.value) {
                    operations.push(Need {
                        factor,
                        span: Some(f.span),
                        inferred: None,
                    });
                }
            }
        }
        Advisor {
            model,
            waiting: infer::user_waiting(model, graph),
            calls_with_needs: None,
            operations,
            min_margin,
        }
    }

    /// Tells the advisor which services have a call that declares `needs` (one flag per service,
    /// in model order), so that the calls of the others are not read one by one: X501 knows it
    /// from the lint's call facts, and reading every call's `needs` was most of that rule's time
    /// on a large topology. The advice is the same either way.
    pub(crate) fn knowing_calls_with_needs(mut self, per_service: Vec<bool>) -> Advisor<'m> {
        self.calls_with_needs = Some(per_service);
        self
    }

    /// Every `calls`, `publishes` and `requests` edge that declares `needs` or gets an
    /// inferred one, in model order.
    pub fn advised(&self) -> Vec<Advice> {
        let mut out = Vec::new();
        self.each_advised(|kind, si, item, _| out.push(self.edge(kind, si, item)));
        out
    }

    /// The advised edges whose declared style the advice rules out or ranks more than the
    /// minimum margin below the best ([`Advice::mismatch`]), in the order of [`Advisor::advised`].
    /// Calls without `needs` are weighed on the same factors (their user waits, and what the team
    /// cannot operate), so whether they mismatch is decided once; only the edges that may are
    /// advised in full, with their own names and reasons.
    pub fn mismatched(&self) -> Vec<Advice> {
        let mut out = Vec::new();
        let mut needs_free_mismatch: Option<bool> = None;
        self.each_advised(|kind, si, item, declares_needs| {
            if !declares_needs
                && !*needs_free_mismatch.get_or_insert_with(|| {
                    self.edge(kind, si, item)
                        .mismatch(self.min_margin)
                        .is_some()
                })
            {
                return;
            }
            let advice = self.edge(kind, si, item);
            if advice.mismatch(self.min_margin).is_some() {
                out.push(advice);
            }
        });
        out
    }

    /// The edges [`Advisor::advised`] advises, in the same order, without advising them: the
    /// kind, service, item, and whether the edge declares `needs` (when it does not, it is a call
    /// whose user waits, which topolint infers; every such call is advised alike).
    pub(crate) fn each_advised(&self, mut f: impl FnMut(EdgeKind, usize, usize, bool)) {
        for (si, service) in self.model.services.iter().enumerate() {
            let inferred_calls = self.waiting[si].is_some();
            // The calls of a service known to declare no `needs` are not read for it.
            let may_declare = self.calls_with_needs.as_ref().is_none_or(|v| v[si]);
            for (i, call) in service.calls.iter().enumerate() {
                let declared = may_declare && call.options.needs.is_some();
                if declared || inferred_calls {
                    f(EdgeKind::Call, si, i, declared);
                }
            }
            for (i, publish) in service.publishes.iter().enumerate() {
                if publish.needs.is_some() {
                    f(EdgeKind::Publish, si, i, true);
                }
            }
            for (i, request) in service.requests.iter().enumerate() {
                if request.options.needs.is_some() {
                    f(EdgeKind::Request, si, i, true);
                }
            }
        }
    }

    /// Every `calls`, `publishes` and `requests` edge from `from` to `to`, advised whether or
    /// not it has needs.
    pub fn between(&self, from: &str, to: &str) -> Vec<Advice> {
        let mut out = Vec::new();
        let Some(si) = self
            .model
            .services
            .iter()
            .position(|s| &*s.name.value.0 == from)
        else {
            return out;
        };
        let service = &self.model.services[si];
        let lists: [(EdgeKind, Vec<&str>); 3] = [
            (
                EdgeKind::Call,
                service.calls.iter().map(|c| &*c.to.value.0).collect(),
            ),
            (
                EdgeKind::Publish,
                service.publishes.iter().map(|p| &*p.to.value.0).collect(),
            ),
            (
                EdgeKind::Request,
                service.requests.iter().map(|r| &*r.to.value.0).collect(),
            ),
        ];
        for (kind, targets) in lists {
            for (i, target) in targets.into_iter().enumerate() {
                if target == to {
                    out.push(self.edge(kind, si, i));
                }
            }
        }
        out
    }

    /// The advice for one edge: `kind` item `item` of service `si`.
    pub fn edge(&self, kind: EdgeKind, si: usize, item: usize) -> Advice {
        let service = &self.model.services[si];
        let (to, span, needs, feedback) = match kind {
            EdgeKind::Publish => {
                let p = &service.publishes[item];
                let feedback = p
                    .feedback
                    .as_ref()
                    .is_some_and(|f| f.value != Feedback::None);
                (&p.to, p.span, p.needs.as_deref(), feedback)
            }
            EdgeKind::Request => {
                let r = &service.requests[item];
                (&r.to, r.span, r.options.needs.as_deref(), false)
            }
            _ => {
                let c = &service.calls[item];
                (&c.to, c.span, c.options.needs.as_deref(), false)
            }
        };
        let from = service.name.value.to_string();
        let mut list = declared(needs);
        let declares_user_waits = list
            .iter()
            .any(|n| matches!(n.factor, Factor::UserWaits(_)));
        if kind == EdgeKind::Call
            && !declares_user_waits
            && let Some(root) = self.waiting[si]
        {
            let root = &self.model.services[root as usize].name.value;
            let why = if **root == *from {
                format!("{root} is user-facing and makes this call while its user waits")
            } else {
                format!(
                    "user-facing {root} reaches {from} over calls alone, so its user waits on this call"
                )
            };
            list.insert(
                0,
                Need {
                    factor: Factor::UserWaits(true),
                    span: None,
                    inferred: Some(why),
                },
            );
        }
        list.extend(self.operations.iter().cloned());
        let vetoed = vetoes(&list, kind, feedback);
        let mut contributions = Vec::new();
        let mut scores = [0i32; 4];
        for need in &list {
            let Some(row) = weights::row(need.factor) else {
                continue;
            };
            let times = if matches!(need.factor, Factor::Dominant(_)) {
                DOMINANT_FACTOR
            } else {
                1
            };
            for style in Style::ALL {
                let w = row.weights[style.index()];
                scores[style.index()] += w.weight * times;
                contributions.push(Contribution {
                    factor: need.factor,
                    style,
                    weight: w.weight * times,
                    why: w.why,
                });
            }
        }
        // Best first; ties go to the style with fewer moving parts. `requests` is never
        // vetoed, so there is always a recommendation.
        let mut ranked: Vec<Style> = Style::ALL
            .into_iter()
            .filter(|s| !vetoed.iter().any(|v| v.style == *s))
            .collect();
        ranked.sort_by_key(|s| (-scores[s.index()], *s));
        let recommendation = ranked[0];
        let runner_up = ranked.get(1).copied();
        let margin = runner_up.map(|r| scores[recommendation.index()] - scores[r.index()]);
        let uncertain = margin.is_some_and(|m| m == 0 || m < self.min_margin as i32);
        Advice {
            kind,
            service: si,
            item,
            from,
            to: to.value.to_string(),
            path: format!("services.{}.{}[{item}]", service.name.value, kind.as_str()),
            span,
            declared: Style::of_edge(kind),
            declared_needs: needs.is_some(),
            needs: list,
            vetoed,
            contributions,
            scores,
            recommendation,
            runner_up,
            margin,
            uncertain,
        }
    }
}

/// The needs an edge declares, in the order of the format.
fn declared(needs: Option<&Needs>) -> Vec<Need> {
    let Some(n) = needs else { return Vec::new() };
    let mut out = Vec::new();
    let mut add = |factor: Factor, span: Span| {
        out.push(Need {
            factor,
            span: Some(span),
            inferred: None,
        })
    };
    if let Some(v) = &n.user_waits {
        add(Factor::UserWaits(v.value), v.span);
    }
    if let Some(v) = &n.consistency {
        add(Factor::Consistency(v.value), v.span);
    }
    if let Some(v) = &n.decoupling {
        add(Factor::Decoupling(v.value), v.span);
    }
    if let Some(v) = &n.spikes {
        add(Factor::Spikes(v.value), v.span);
    }
    if let Some(v) = &n.replay {
        add(Factor::Replay(v.value), v.span);
    }
    if let Some(v) = &n.dominant {
        add(Factor::Dominant(v.value), v.span);
    }
    out
}

/// The hard constraints of ADVISE.md.
fn vetoes(needs: &[Need], kind: EdgeKind, feedback: bool) -> Vec<Veto> {
    let mut out = Vec::new();
    for need in needs {
        let label = match &need.inferred {
            Some(_) => format!("`{}` (inferred)", need.factor.label()),
            None => format!("`{}`", need.factor.label()),
        };
        let mut veto = |style: Style, why: &'static str| {
            out.push(Veto {
                style,
                factor: need.factor,
                because: format!("{label}: {why}"),
                why,
                span: need.span,
            })
        };
        match need.factor {
            Factor::Consistency(Consistency::Immediate) => {
                veto(
                    Style::Async,
                    "the caller must see the effect at once, and an event lands later",
                );
                veto(
                    Style::CqrsLite,
                    "reads must not lag behind the write that the caller just made",
                );
            }
            Factor::UserWaits(true) if !feedback => {
                let why = if kind == EdgeKind::Publish {
                    "a user waits and no `feedback` tells them how it turned out"
                } else {
                    "a user waits for the answer, and fire-and-forget gives none"
                };
                veto(Style::Async, why);
            }
            Factor::Replay(true) => {
                veto(Style::Sync, "a synchronous write leaves no event to replay")
            }
            _ => {}
        }
    }
    out.sort_by_key(|v| v.style);
    out
}

#[cfg(test)]
mod tests;
