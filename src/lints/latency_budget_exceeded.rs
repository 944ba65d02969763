//! S106 latency-budget-exceeded: the estimated p99 of an entrypoint's worst path is above its
//! budget.
//!
//! The model (documented for users in `lints/S106-latency-budget-exceeded.md`):
//! - each node's own latency is a log-normal fitted to its p50 and p99 (p50 = p99 / 3 when only
//!   p99 is declared, p99 = 3 × p50 when only p50 is; no `latency:` counts 0);
//! - a call costs its callee's own draw; past its timeout an attempt costs the timeout and the next
//!   attempt is drawn, up to `retries + 1` attempts; `fan_out: k` costs the slowest of k calls;
//! - the worst path is chosen by one pass over the condensation of the call graph, as the largest
//!   sum of each hop's p99 cost; the p99 of that path's total is then estimated from a fixed
//!   number of seeded samples, so the same topology always gives the same estimate.

use petgraph::Direction;
use petgraph::graph::{EdgeIndex, NodeIndex};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;
use statrs::distribution::{ContinuousCDF, LogNormal, Normal};

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;
use crate::model::{CallOptions, Latency};

use super::Context;
use super::sync_common::{SHOWN_HOPS, attempts, call, ends, human, latency, path_names};

pub const META: RuleMeta = RuleMeta {
    code: "S106",
    name: "latency-budget-exceeded",
    severity: Severity::Error,
    summary: "the estimated p99 along an entrypoint's worst path is above its `budget`",
};

/// Samples drawn per estimate. The p99 of 10,000 samples sits between the 9,899th and 9,901st
/// of them: close enough for a design check, and cheap.
pub const SAMPLES: usize = 10_000;

/// The seed of every estimate: the same topology gives the same numbers on every run and machine.
const SEED: u64 = 0x5106_1a7e_ca11_5eed;

/// How many standard deviations the 99th percentile of a normal lies above its median.
const Z99: f64 = 2.326_347_874_040_841;

/// Consecutive timed-out attempts drawn one by one; past them, the remaining attempts are taken
/// to time out too (a timeout that fails a hundred times in a row is not going to pass).
const DRAWN_ATTEMPTS: u64 = 100;

/// A node's own latency, in milliseconds: a log-normal, or a constant when p50 = p99.
#[derive(Debug, Clone, Copy)]
pub struct Own {
    /// The median.
    median: f64,
    /// The spread: `ln(p99 / p50) / 2.326`.
    sigma: f64,
    /// The log-normal of median `p50` and spread `sigma = ln(p99 / p50) / 2.326`; `None` when
    /// the spread is 0 and the latency a constant.
    dist: Option<LogNormal>,
}

impl Own {
    /// Fits a log-normal to declared p50 and p99 (in milliseconds). `None` when the node adds no
    /// time of its own.
    pub fn fit(p50: Option<f64>, p99: Option<f64>) -> Option<Own> {
        let (p50, p99) = match (p50, p99) {
            (Some(p50), Some(p99)) => (p50, p99),
            (None, Some(p99)) => (p99 / 3.0, p99),
            (Some(p50), None) => (p50, p50 * 3.0),
            (None, None) => return None,
        };
        if !(p99 > 0.0 && p99.is_finite()) {
            return None;
        }
        // A median of 0 or above the p99 is a slip in the file: keep the fit finite and ordered.
        let p50 = p50.clamp(p99 / 1e6, p99);
        let sigma = (p99 / p50).ln() / Z99;
        Some(Own {
            median: p50,
            sigma,
            dist: LogNormal::new(p50.ln(), sigma).ok(),
        })
    }

    fn from_latency(latency: Option<&Latency>) -> Option<Own> {
        let l = latency?;
        let ms = |d: &Option<crate::model::Spanned<crate::model::Duration>>| {
            d.as_ref().map(|d| d.value.as_millis())
        };
        Own::fit(ms(&l.p50), ms(&l.p99))
    }

    /// The latency `z` standard deviations (of its logarithm) above the median.
    fn at(&self, z: f64) -> f64 {
        self.median * (self.sigma * z).exp()
    }

    /// The latency below which a share `q` of requests fall.
    fn quantile(&self, q: f64) -> f64 {
        match &self.dist {
            Some(d) => d.inverse_cdf(q.clamp(0.0, 1.0)),
            None => self.median,
        }
    }

    /// The share of requests at most `x` long.
    fn cdf(&self, x: f64) -> f64 {
        match &self.dist {
            Some(d) => d.cdf(x),
            None => f64::from(u8::from(x >= self.median)),
        }
    }
}

/// One hop of a path: the callee's own latency behind a call's timeout, retries and fan-out.
/// The entrypoint's own work is a hop with no timeout.
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    own: Option<Own>,
    /// Milliseconds, per attempt.
    timeout: Option<f64>,
    attempts: u64,
    fan_out: u64,
}

impl Hop {
    pub fn new(own: Option<Own>, timeout: Option<f64>, attempts: u64, fan_out: u64) -> Hop {
        Hop {
            own,
            timeout,
            attempts: attempts.max(1),
            fan_out: fan_out.max(1),
        }
    }

    fn of_call(own: Option<Own>, options: &CallOptions) -> Hop {
        Hop::new(
            own,
            options.timeout.as_ref().map(|t| t.value.as_millis()),
            attempts(options),
            options.fan_out.as_ref().map_or(1, |k| k.value),
        )
    }

    /// The most the hop can cost: timeout × attempts, `None` without a timeout.
    fn cap(&self) -> Option<f64> {
        match (self.own, self.timeout) {
            (None, _) => Some(0.0),
            (Some(_), Some(t)) => Some(t * self.attempts as f64),
            (Some(_), None) => None,
        }
    }

    /// The quantile `q` of one call's cost, retries included. An attempt that runs past the
    /// timeout costs the timeout; given that, the next attempt's draw is what remains of `q`.
    fn call_quantile(&self, q: f64) -> f64 {
        let Some(own) = self.own else { return 0.0 };
        let Some(t) = self.timeout else {
            return own.quantile(q);
        };
        let mut q = q;
        let mut spent = 0.0;
        for attempt in 1..=self.attempts.min(DRAWN_ATTEMPTS) {
            let x = own.quantile(q);
            if x <= t {
                return spent + x;
            }
            spent += t;
            if attempt == self.attempts {
                return spent;
            }
            let pass = own.cdf(t);
            q = ((q - pass) / (1.0 - pass)).clamp(0.0, 1.0);
        }
        t * self.attempts as f64
    }

    /// The hop's p99 cost: the p99 of the slowest of `fan_out` calls, each with its retries. This
    /// ranks paths; the estimate itself comes from samples.
    pub fn p99(&self) -> f64 {
        self.cost_at(0.99, Z99)
    }

    /// The hop's cost at share `u` of its distribution, `z` being the standard normal score of
    /// `u`: the callee's own latency there when it beats the timeout. Otherwise the attempt timed
    /// out and the retries decide; and the slowest of k calls is below its quantile `u` when each
    /// call is below its quantile `u^(1/k)`.
    fn cost_at(&self, u: f64, z: f64) -> f64 {
        let Some(own) = self.own else { return 0.0 };
        if self.fan_out > 1 {
            return self.call_quantile(u.powf(1.0 / self.fan_out as f64));
        }
        let x = own.at(z);
        if self.timeout.is_none_or(|t| x <= t) {
            x
        } else {
            self.call_quantile(u)
        }
    }
}

/// The 99th percentile of samples: the 9,900th smallest of 10,000.
fn p99_of(samples: &mut [f64]) -> f64 {
    let index = (samples.len() * 99).div_ceil(100).saturating_sub(1);
    let (_, value, _) = samples.select_nth_unstable_by(index, f64::total_cmp);
    *value
}

/// Draws the hops of a path and sums them, sample by sample.
///
/// The draws are stratified (a centred Latin hypercube): a hop's `SAMPLES` draws are the
/// midpoints of `SAMPLES` equal slices of its distribution, dealt to the samples in a seeded
/// random order, a new order for every hop. Each hop's distribution is covered evenly, which
/// steadies the estimate far more than plain random draws would, and a draw inverts the hop's
/// distribution, which gives the slowest of a fan-out and a call's retries at the price of one.
pub struct Sampler {
    /// The midpoint of each slice, as a share and as a standard normal score.
    u: Vec<f64>,
    z: Vec<f64>,
    order: Vec<u32>,
    totals: Vec<f64>,
    scratch: Vec<f64>,
}

impl Default for Sampler {
    fn default() -> Sampler {
        let normal = Normal::standard();
        let u: Vec<f64> = (0..SAMPLES)
            .map(|i| (i as f64 + 0.5) / SAMPLES as f64)
            .collect();
        let z = u.iter().map(|&u| normal.inverse_cdf(u)).collect();
        Sampler {
            u,
            z,
            order: Vec::with_capacity(SAMPLES),
            totals: Vec::with_capacity(SAMPLES),
            scratch: Vec::with_capacity(SAMPLES),
        }
    }
}

impl Sampler {
    /// Adds one draw of hop `j` (of the path) to every sample.
    fn add(&mut self, j: usize, hop: &Hop) {
        if hop.own.is_none() {
            return;
        }
        let mut rng = Pcg64Mcg::seed_from_u64(SEED.wrapping_add(j as u64));
        self.order.clear();
        self.order.extend(0..SAMPLES as u32);
        self.order.shuffle(&mut rng);
        for (total, &slice) in self.totals.iter_mut().zip(&self.order) {
            let slice = slice as usize;
            *total += hop.cost_at(self.u[slice], self.z[slice]);
        }
    }

    /// The p99 of the sums so far.
    fn p99(&mut self) -> f64 {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.totals);
        p99_of(&mut self.scratch)
    }

    /// The estimate for a path when it is above `budget`, `None` otherwise. Costs are never
    /// negative and a hop never costs more than its timeout × attempts, so once the p99 of the
    /// hops drawn so far plus the most the rest can cost fits the budget, no sample can exceed
    /// it: the rest is not drawn.
    fn over_budget(&mut self, hops: &[Hop], budget: f64) -> Option<f64> {
        // The most the hops from `j` on can cost, `None` when one of them has no timeout.
        let mut rest: Vec<Option<f64>> = vec![Some(0.0); hops.len() + 1];
        for j in (0..hops.len()).rev() {
            rest[j] = rest[j + 1].zip(hops[j].cap()).map(|(a, b)| a + b);
        }
        self.totals.clear();
        self.totals.resize(SAMPLES, 0.0);
        for (j, hop) in hops.iter().enumerate() {
            self.add(j, hop);
            if j + 1 < hops.len()
                && hop.own.is_some()
                && let Some(rest) = rest[j + 1]
                && self.p99() + rest <= budget
            {
                return None;
            }
        }
        let p99 = self.p99();
        (p99 > budget).then_some(p99)
    }

    /// The estimated p99 of the sum of the hops, the first being the entrypoint's own work.
    #[cfg(test)]
    pub fn estimate(&mut self, hops: &[Hop]) -> f64 {
        self.totals.clear();
        self.totals.resize(SAMPLES, 0.0);
        for (j, hop) in hops.iter().enumerate() {
            self.add(j, hop);
        }
        self.p99()
    }
}

/// For each component of the call graph, the path leaving it with the largest sum of hop p99s.
struct Worst {
    cost: Vec<f64>,
    next: Vec<Option<EdgeIndex>>,
}

fn worst(cx: &Context, own: &[Option<Own>]) -> Worst {
    let sync = cx.sync();
    let n = sync.components.len();
    let mut w = Worst {
        cost: vec![0.0; n],
        next: vec![None; n],
    };
    // Tarjan lists components sinks first: every callee is final before its callers. Calls inside
    // a cycle add nothing (the cycle is S107's finding).
    for (id, members) in sync.components.iter().enumerate() {
        for &member in members {
            for (e, target, edge) in cx
                .graph
                .edges_of(member, Direction::Outgoing, EdgeKind::Call)
            {
                let t = sync.component[target.index()] as usize;
                if t == id {
                    continue;
                }
                let hop = Hop::of_call(own[target.index()], &call(cx, edge).options);
                let cost = hop.p99() + w.cost[t];
                let better = match w.next[id] {
                    None => true,
                    Some(n) => cost > w.cost[id] || cost == w.cost[id] && e < n,
                };
                if better {
                    w.cost[id] = cost;
                    w.next[id] = Some(e);
                }
            }
        }
    }
    w
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if cx.model.services.iter().all(|s| s.budget.is_none()) {
        return;
    }
    let sync = cx.sync();
    let own: Vec<Option<Own>> = cx
        .graph
        .graph
        .node_indices()
        .map(|n| Own::from_latency(latency(cx, n)))
        .collect();
    let w = worst(cx, &own);
    let mut sampler = Sampler::default();
    for (si, service) in cx.model.services.iter().enumerate() {
        let Some(budget) = &service.budget else {
            continue;
        };
        let entry = cx.graph.service_node(si);
        let mut edges = Vec::new();
        let mut at = sync.component[entry.index()] as usize;
        while let Some(e) = w.next[at] {
            edges.push(e);
            at = sync.component[ends(cx, e).1.index()] as usize;
        }
        let mut hops = vec![Hop::new(own[entry.index()], None, 1, 1)];
        hops.extend(edges.iter().map(|&e| {
            let target = ends(cx, e).1;
            Hop::of_call(own[target.index()], &call(cx, cx.graph.graph[e]).options)
        }));
        let budget_ms = budget.value.as_millis();
        let Some(p99) = sampler.over_budget(&hops, budget_ms) else {
            continue;
        };
        out.push(diagnostic(cx, entry, &edges, &hops, p99, budget_ms));
    }
}

fn diagnostic(
    cx: &Context,
    entry: NodeIndex,
    edges: &[EdgeIndex],
    hops: &[Hop],
    p99: f64,
    budget_ms: f64,
) -> Diagnostic {
    let micros = |ms: f64| (ms * 1000.0).round() as u64;
    let service = &cx.model.services[cx.graph.node_ref(entry).index as usize];
    let name = &service.name.value;
    // Hop i's node: the entrypoint, then each call's callee.
    let node_of = |i: usize| {
        if i == 0 {
            entry
        } else {
            ends(cx, edges[i - 1]).1
        }
    };
    // The hops that dominate: by p99 cost, the fewest (at most three) that make two thirds of
    // the sum.
    let costs: Vec<f64> = hops.iter().map(Hop::p99).collect();
    let sum: f64 = costs.iter().sum();
    let mut order: Vec<usize> = (0..hops.len()).filter(|&i| costs[i] > 0.0).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut dominant = Vec::new();
    let mut covered = 0.0;
    for &i in &order {
        if dominant.len() == 3 || covered >= sum * 2.0 / 3.0 {
            break;
        }
        covered += costs[i];
        dominant.push(i);
    }
    let dominant_names: Vec<String> = dominant
        .iter()
        .map(|&i| {
            let who = cx.graph.name(cx.model, node_of(i));
            match hops[i].fan_out {
                1 => format!("{who} (p99 {})", human(micros(costs[i]))),
                k => format!("{who} (slowest of {k}, p99 {})", human(micros(costs[i]))),
            }
        })
        .collect();
    let dominant_text = match dominant_names.len() {
        0 => String::new(),
        1 => format!("; {} dominates", dominant_names[0]),
        n => format!(
            "; {} and {} dominate",
            dominant_names[..n - 1].join(", "),
            dominant_names[n - 1]
        ),
    };
    let shown = edges.len().saturating_sub(SHOWN_HOPS);
    let path = path_names(cx, entry, &edges[shown..], shown);
    // Whole milliseconds read best; a finding less than a millisecond over keeps its digits.
    let p99 = if p99 - budget_ms >= 1.0 {
        p99.round()
    } else {
        p99
    };
    let over = micros(p99 - budget_ms);
    let estimate = human(micros(p99));
    let budget = human(micros(budget_ms));
    // A budget the path could meet: the estimate rounded up to 10ms (100ms above a second).
    let step = if p99 < 1000.0 { 10.0 } else { 100.0 };
    let meetable = human(micros((p99 / step).ceil() * step));
    let top = dominant
        .first()
        .map_or(&name.0[..], |&i| cx.graph.name(cx.model, node_of(i)));
    let mut d = Diagnostic::new(
        &META,
        service.name.span,
        format!(
            "estimated p99 of {path} is {estimate}, {} over {name}'s budget of {budget}{dominant_text}",
            human(over)
        ),
    )
    .label(format!("budget {budget}, estimated p99 {estimate}"))
    .help(format!(
        "tail latencies compound: each hop adds a chance of a slow moment, so the path is slow for far more requests than any one hop; take a hop off the user's path (an event and a local copy instead of a call), cut the tail of {top} (caching, precomputing), call independent services in parallel, or agree on a budget the path can meet (`budget: {meetable}`)"
    ))
    .path(format!("services.{name}"));
    for (i, &e) in edges.iter().enumerate().skip(shown) {
        let (a, b) = ends(cx, e);
        let hop = &hops[i + 1];
        let mut label = format!(
            "{} → {}: p99 {}",
            cx.graph.name(cx.model, a),
            cx.graph.name(cx.model, b),
            human(micros(costs[i + 1]))
        );
        if hop.fan_out > 1 {
            label.push_str(&format!(", slowest of {}", hop.fan_out));
        }
        if hop.attempts > 1 {
            label.push_str(&format!(", up to {} attempts", hop.attempts));
        }
        d = d.related(cx.graph.edge_span(cx.model, cx.graph.graph[e]), label);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::sync_common::test::run;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= expected * tolerance,
            "{actual} is not within {}% of {expected}",
            tolerance * 100.0
        );
    }

    fn est(hops: &[Hop]) -> f64 {
        Sampler::default().estimate(hops)
    }

    fn hop(p50: f64, p99: f64) -> Hop {
        Hop::new(Own::fit(Some(p50), Some(p99)), None, 1, 1)
    }

    #[test]
    fn z99_is_the_normal_99th_percentile() {
        use statrs::distribution::Normal;
        close(Normal::standard().inverse_cdf(0.99), Z99, 1e-12);
    }

    #[test]
    fn a_constant_hop_gives_its_value() {
        assert_eq!(est(&[hop(40.0, 40.0)]), 40.0);
        assert_eq!(est(&[hop(40.0, 40.0), hop(25.0, 25.0)]), 65.0);
    }

    #[test]
    fn a_fitted_hop_keeps_its_p99_and_median() {
        let h = hop(20.0, 100.0);
        close(h.p99(), 100.0, 1e-9);
        close(est(&[h]), 100.0, 0.03);
        // Only p99 declared: the median is a third of it.
        let only = Own::fit(None, Some(90.0)).unwrap();
        close(only.quantile(0.5), 30.0, 1e-9);
        close(only.quantile(0.99), 90.0, 1e-9);
    }

    #[test]
    fn no_latency_counts_zero() {
        let nothing = Hop::new(None, Some(100.0), 3, 10);
        assert_eq!(nothing.p99(), 0.0);
        assert_eq!(est(&[nothing, hop(10.0, 10.0)]), 10.0);
    }

    #[test]
    fn fan_out_takes_the_slowest_of_k() {
        // The slowest of k draws is below x only when all k are: P = F(x)^k. Its p99 is the
        // hop's quantile at 0.99^(1/k).
        let own = Own::fit(Some(20.0), Some(100.0)).unwrap();
        let fan = Hop::new(Some(own), None, 1, 10);
        close(fan.p99(), own.quantile(0.99f64.powf(0.1)), 1e-9);
        close(est(&[Hop::new(None, None, 1, 1), fan]), fan.p99(), 0.04);
        // Constant hops: the slowest of k is the value itself.
        let flat = Hop::new(Own::fit(Some(50.0), Some(50.0)), None, 1, 8);
        assert_eq!(flat.p99(), 50.0);
    }

    #[test]
    fn retries_cost_the_timeout_and_draw_again() {
        // A constant 80ms behind a 50ms timeout always times out: every attempt costs 50ms.
        let always = Hop::new(Own::fit(Some(80.0), Some(80.0)), Some(50.0), 3, 1);
        assert_eq!(always.p99(), 150.0);
        assert_eq!(est(&[always]), 150.0);
        // A constant 30ms never does: retries cost nothing.
        let never = Hop::new(Own::fit(Some(30.0), Some(30.0)), Some(50.0), 3, 1);
        assert_eq!(est(&[never]), 30.0);
        // A log-normal with p99 100ms behind a 60ms timeout: about 2.4% of attempts time out, so
        // the p99 request is one that timed out once and then took its retry's p59 or so.
        let own = Own::fit(Some(20.0), Some(100.0)).unwrap();
        let h = Hop::new(Some(own), Some(60.0), 2, 1);
        let pass = own.cdf(60.0);
        let retry_q = (0.99 - pass) / (1.0 - pass);
        close(h.p99(), 60.0 + own.quantile(retry_q), 1e-9);
        close(est(&[h]), h.p99(), 0.04);
    }

    #[test]
    fn many_attempts_stay_bounded() {
        let h = Hop::new(Own::fit(Some(80.0), Some(80.0)), Some(1.0), 1_000_000, 1);
        assert_eq!(h.p99(), 1_000_000.0);
        assert_eq!(est(&[h]), 1_000_000.0);
    }

    #[test]
    fn tails_compound_but_do_not_add() {
        // Three hops of p50 20ms, p99 100ms: medians add to 60ms, p99s to 300ms; the chain's p99
        // lies between, near 190ms (the number the doc gives).
        let three = [hop(20.0, 100.0), hop(20.0, 100.0), hop(20.0, 100.0)];
        let p99 = est(&three);
        assert!(p99 > 170.0 && p99 < 210.0, "{p99}");
        // The same estimate every time.
        assert_eq!(est(&three), p99);
    }

    const EXAMPLE: &str = "topolint: 1
services:
  storefront:
    latency: { p50: 5ms, p99: 20ms }
    budget: 120ms
    calls:
      - { to: orders, timeout: 400ms }
      - { to: search, timeout: 100ms }
  orders:
    latency: { p50: 20ms, p99: 100ms }
    calls:
      - { to: stock, timeout: 200ms }
  stock:
    latency: { p50: 20ms, p99: 100ms }
  search:
    latency: { p50: 5ms, p99: 30ms }
";

    #[test]
    fn reports_the_worst_path_and_what_dominates() {
        let found = run(check, EXAMPLE);
        assert_eq!(found.len(), 1);
        let m = &found[0].message;
        assert!(
            m.starts_with("estimated p99 of storefront → orders → stock is "),
            "{m}"
        );
        assert!(
            m.ends_with(
                "over storefront's budget of 120ms; orders (p99 100ms) and stock (p99 100ms) dominate"
            ),
            "{m}"
        );
        assert_eq!(found[0].path.as_deref(), Some("services.storefront"));
        assert_eq!(found[0].related.len(), 2);
    }

    #[test]
    fn timeouts_that_fit_the_budget_skip_the_estimate() {
        // 20ms + 40ms + 40ms can exceed nothing above 100ms + the entry's p99.
        let found = run(
            check,
            "topolint: 1
services:
  web:
    latency: { p50: 5ms, p99: 20ms }
    budget: 121ms
    calls: [{ to: api, timeout: 40ms, retries: 1 }]
  api:
    latency: { p50: 30ms, p99: 900ms }
",
        );
        assert!(found.is_empty(), "{found:#?}");
    }
}
