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
//!
//! The worst paths of all entrypoints form a forest (each component points to where its path
//! goes next), so each call on them is drawn once and its draws shared by every entrypoint whose
//! path passes there: the work is `SAMPLES` × (calls on those paths + entrypoints), linear in the
//! graph, however many entrypoints share a long path.
//!
//! Most entrypoints need no samples at all: a hop's cost never falls as its slice rises, so no
//! sample of a path can exceed the sum of its hops' costs at the top slice. An entrypoint whose
//! sum stays within its budget cannot be found over it and is passed over; the sum comes with
//! the worst path, in the same pass. Estimates and findings are the same either way (tested).

use petgraph::graph::{EdgeIndex, NodeIndex};
use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use rustc_hash::{FxHashMap, FxHashSet};
use statrs::distribution::{ContinuousCDF, LogNormal, Normal};

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::{CallOptions, Duration};

use super::Context;
use super::sync_common::{SHOWN_HOPS, attempts, call, ends, human, path_names};

pub const META: RuleMeta = RuleMeta {
    code: "S106",
    name: "latency-budget-exceeded",
    severity: Severity::Error,
    summary: "the estimated p99 along an entrypoint's worst path is above its `budget`",
};

/// Samples drawn per estimate: the p99 is the 1,980th smallest of 2,000. With stratified draws
/// this moves by a few percent at most (the unit tests hold it to the declared values), close
/// enough for a design check; 10,000 samples cost five times as much on a 100k-service topology
/// for no change a reader would act on.
pub const SAMPLES: usize = 2_000;

/// The seed of every estimate: the same topology gives the same numbers on every run and machine.
const SEED: u64 = 0x5106_1a7e_ca11_5eed;

/// How many standard deviations the 99th percentile of a normal lies above its median.
const Z99: f64 = 2.326_347_874_040_841;

/// Consecutive timed-out attempts drawn one by one; past them, the remaining attempts are taken
/// to time out too (a timeout that fails a hundred times in a row is not going to pass).
const DRAWN_ATTEMPTS: u64 = 100;

/// A node's own latency, in milliseconds: a log-normal through its p50 and p99, or a constant
/// when they are equal. Only the two are kept: most hops are ranked by their p99 alone, and the
/// spread and the distribution are worked out where a draw needs them (fitting every call's
/// callee was a third of this rule's pass over the calls).
#[derive(Debug, Clone, Copy)]
pub struct Own {
    /// The median.
    median: f64,
    /// The 99th percentile.
    p99: f64,
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
        Some(Own {
            median: p50.clamp(p99 / 1e6, p99),
            p99,
        })
    }

    /// The spread of the logarithm: `ln(p99 / p50) / 2.326`.
    fn sigma(&self) -> f64 {
        (self.p99 / self.median).ln() / Z99
    }

    /// The latency `z` standard deviations (of its logarithm) above the median.
    fn at(&self, z: f64) -> f64 {
        self.median * (self.sigma() * z).exp()
    }

    /// The distribution, for its quantiles and shares.
    fn dist(&self) -> Dist {
        Dist {
            median: self.median,
            log_normal: LogNormal::new(self.median.ln(), self.sigma()).ok(),
        }
    }
}

/// A node's own latency as a distribution.
struct Dist {
    median: f64,
    /// `None` when the spread is 0 and the latency a constant.
    log_normal: Option<LogNormal>,
}

impl Dist {
    /// The latency below which a share `q` of requests fall.
    fn quantile(&self, q: f64) -> f64 {
        match &self.log_normal {
            // Just below 1: the slowest of an absurd fan-out stays finite.
            Some(d) => d.inverse_cdf(if q.is_nan() { 1.0 } else { q }.clamp(0.0, 1.0 - 1e-15)),
            None => self.median,
        }
    }

    /// The share of requests at most `x` long.
    fn cdf(&self, x: f64) -> f64 {
        match &self.log_normal {
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

    /// The quantile `q` of one call's cost, retries included. An attempt that runs past the
    /// timeout costs the timeout; given that, the next attempt's draw is what remains of `q`.
    fn call_quantile(&self, q: f64) -> f64 {
        let Some(own) = self.own else { return 0.0 };
        let own = own.dist();
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
            if pass >= 1.0 || pass.is_nan() {
                // Every attempt beats the timeout but for rounding: this one counts as timed out.
                return spent;
            }
            q = ((q - pass) / (1.0 - pass)).clamp(0.0, 1.0);
        }
        t * self.attempts as f64
    }

    /// The hop's p99 cost: the p99 of the slowest of `fan_out` calls, each with its retries. This
    /// ranks paths; the estimate itself comes from samples.
    pub fn p99(&self) -> f64 {
        match self.own {
            // The fit passes through the declared p99: a single call that is not cut short there
            // costs just that.
            Some(own) if self.fan_out == 1 && self.timeout.is_none_or(|t| own.p99 <= t) => own.p99,
            _ => self.cost_at(0.99, Z99),
        }
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

/// The 99th percentile of samples: the 1,980th smallest of 2,000.
fn p99_of(samples: &mut [f64]) -> f64 {
    let index = (samples.len() * 99).div_ceil(100).saturating_sub(1);
    let (_, value, _) = samples.select_nth_unstable_by(index, f64::total_cmp);
    *value
}

/// Stratified draws (a centred Latin hypercube): a hop's `SAMPLES` draws are the midpoints of
/// `SAMPLES` equal slices of its distribution, dealt to the samples in a seeded random order, a
/// new order for every hop. Each hop's distribution is covered evenly, which steadies the
/// estimate far more than plain random draws would, and a draw inverts the hop's distribution,
/// which gives the slowest of a fan-out and a call's retries at the price of one.
pub struct Strata {
    /// The midpoint of each slice, as a share and as a standard normal score.
    u: Vec<f64>,
    z: Vec<f64>,
    /// A hop's cost at each slice, then dealt to the samples in place.
    values: Vec<f64>,
}

impl Default for Strata {
    fn default() -> Strata {
        let normal = Normal::standard();
        let u: Vec<f64> = (0..SAMPLES)
            .map(|i| (i as f64 + 0.5) / SAMPLES as f64)
            .collect();
        let z = u.iter().map(|&u| normal.inverse_cdf(u)).collect();
        Strata {
            u,
            z,
            values: Vec::with_capacity(SAMPLES),
        }
    }
}

impl Strata {
    /// Adds one draw of `hop`, dealt in the order of stream `seed`, to every sample.
    fn add(&mut self, totals: &mut [f64], seed: u64, hop: &Hop) {
        if hop.own.is_none() {
            return;
        }
        self.costs(hop);
        // Dealt by Fisher–Yates, each index drawn by a multiply-shift of one 64-bit draw
        // (Lemire's method without its rejection step, whose bias here is under 2,000 / 2^64;
        // rand's shuffle divides for every element, which was a third of the rule). The values
        // are shuffled in place, the same swaps as on a list of slice numbers, so that sample i
        // gets the slice a shuffled list would name at i, and the sums are a plain add.
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        for i in (1..SAMPLES).rev() {
            let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
            self.values.swap(i, j);
        }
        for (total, value) in totals.iter_mut().zip(&self.values) {
            *total += value;
        }
    }

    /// The hop's cost at every slice, in slice order, into `values`: for a single call (nearly
    /// every hop) one draw of the callee's own log-normal, in a tight loop over the slices'
    /// scores; past the timeout, the retries decide as in `Hop::cost_at`.
    fn costs(&mut self, hop: &Hop) {
        self.values.clear();
        match (hop.own, hop.fan_out) {
            (Some(own), 1) if own.sigma() > 0.0 => {
                let timeout = hop.timeout.unwrap_or(f64::INFINITY);
                let (median, sigma) = (own.median, own.sigma());
                self.values
                    .extend(self.z.iter().map(|&z| median * exp_fast(sigma * z)));
                for (value, &u) in self.values.iter_mut().zip(&self.u) {
                    if *value > timeout {
                        *value = hop.call_quantile(u);
                    }
                }
            }
            _ => self
                .values
                .extend(self.u.iter().zip(&self.z).map(|(&u, &z)| hop.cost_at(u, z))),
        }
    }
}

/// e^x to within a few units in the last place for |x| < 700, without calls or branches, so that
/// a loop of them vectorises: x = k ln 2 + r with |r| <= ln 2 / 2 (Cody and Waite's two-part
/// ln 2), e^r by its Taylor series to the 13th power (the next term is under 1e-17 of it), and
/// 2^k written straight into the exponent bits. Adding 1.5 * 2^52 rounds x / ln 2 to the
/// integer k and leaves k in the low bits of the sum. A sample's exponent is at most about 22
/// (a spread of ln(10^6) / 2.33 times the largest score, 3.7).
fn exp_fast(x: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let t = x * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    for d in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / d;
    }
    let scale = f64::from_bits((t.to_bits() << 52).wrapping_add(1023 << 52));
    p * scale
}

/// A name's 64-bit FNV-1a hash. Streams follow names, not indexes, so that reordering the
/// services or moving them between files leaves every estimate as it was.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The stream of a call's draws, from its caller's name and its place in the caller's list: each
/// call is drawn once, whichever entrypoints' paths share it, and the calls of one path are drawn
/// independently of each other.
fn call_seed(cx: &Context, e: EdgeIndex) -> u64 {
    let caller = cx.graph.name(cx.model, ends(cx, e).0);
    let item = u64::from(cx.graph.graph[e].item);
    SEED ^ name_hash(caller) ^ (2 * item + 2).wrapping_mul(GOLDEN)
}

/// The stream of an entrypoint's own draws, from its name.
fn entry_seed(cx: &Context, n: NodeIndex) -> u64 {
    SEED ^ name_hash(cx.graph.name(cx.model, n)) ^ GOLDEN
}

/// The estimated p99 of the sum of the hops of a path, the first being the entrypoint's own work.
#[cfg(test)]
pub fn estimate(hops: &[Hop]) -> f64 {
    let mut strata = Strata::default();
    let mut totals = vec![0.0; SAMPLES];
    for (j, hop) in hops.iter().enumerate() {
        strata.add(&mut totals, SEED.wrapping_add(j as u64), hop);
    }
    p99_of(&mut totals)
}

/// The hops that dominate a path are among its three largest p99 costs.
const TOP: usize = 3;

/// The hop of call `e`, read from the model (the pass over every call reads the call facts
/// instead): the callee's own latency behind the call's timeout, retries and fan-out.
fn hop(cx: &Context, e: EdgeIndex) -> Hop {
    Hop::of_call(own(cx, ends(cx, e).1), &call(cx, cx.graph.graph[e]).options)
}

/// An entrypoint's own work, as a hop with no timeout.
fn entry_hop(cx: &Context, entry: NodeIndex) -> Hop {
    Hop::new(own(cx, entry), None, 1, 1)
}

/// A node's own latency, fitted from its declared p50 and p99 as the call facts keep them (read
/// once for every node; fitted where needed: keeping the fits, 40 bytes a node, made this rule
/// the largest user of memory while the rules ran).
fn own(cx: &Context, node: NodeIndex) -> Option<Own> {
    let [p50, p99] = cx.call_facts().declared(node);
    Own::fit(p50.map(Duration::as_millis), p99.map(Duration::as_millis))
}

/// The largest hops of a path by p99 cost, largest first; `NO_EDGE` marks an empty slot. Kept
/// for every component, so packed: 40 bytes, not the 72 of three optional pairs.
#[derive(Clone, Copy)]
struct Top {
    cost: [f64; TOP],
    edge: [u32; TOP],
}

const NO_EDGE: u32 = u32::MAX;

impl Top {
    const EMPTY: Top = Top {
        cost: [0.0; TOP],
        edge: [NO_EDGE; TOP],
    };

    fn hops(&self) -> impl Iterator<Item = (f64, EdgeIndex)> + '_ {
        (0..TOP)
            .take_while(|&i| self.edge[i] != NO_EDGE)
            .map(|i| (self.cost[i], EdgeIndex::new(self.edge[i] as usize)))
    }
}

/// For each component of the call graph, the path leaving it with the largest sum of hop p99s.
struct Worst {
    /// That sum.
    cost: Vec<f64>,
    /// The path's first call.
    next: Vec<Option<EdgeIndex>>,
}

/// The top slice's share and standard normal score, as [`Strata`] computes them.
fn top_slice() -> (f64, f64) {
    let u = (SAMPLES as f64 - 0.5) / SAMPLES as f64;
    (u, Normal::standard().inverse_cdf(u))
}

/// The margin by which an entrypoint's bound must stay under its budget to be passed without
/// sampling: the samples' exponential differs from the library's in the last digits.
const BOUND_MARGIN: f64 = 1e-9;

impl Worst {
    /// The component a component's worst path goes to next.
    fn after(&self, cx: &Context, c: usize) -> Option<usize> {
        self.next[c].map(|e| cx.sync().component[ends(cx, e).1.index()] as usize)
    }

    /// The largest total any sample can reach along component `c`'s worst path: each hop's cost
    /// at the top slice (a hop's cost never falls as the slice rises; a test holds it to that).
    /// Kept in `bounds` (NaN where not yet known), so that each component is walked once
    /// however many paths share it. Only the entrypoints with a budget ask, for their paths: a
    /// call past its timeout at the top slice inverts its callee's distribution, which for
    /// every component of the graph was a third of this rule.
    fn bound(&self, cx: &Context, c: usize, bounds: &mut [f64]) -> f64 {
        let (top_u, top_z) = top_slice();
        let mut path = Vec::new();
        let mut at = Some(c);
        while let Some(c) = at.filter(|&c| bounds[c].is_nan()) {
            path.push(c);
            at = self.after(cx, c);
        }
        let mut below = at.map_or(0.0, |c| bounds[c]);
        for &c in path.iter().rev() {
            below = match self.next[c] {
                Some(e) => hop(cx, e).cost_at(top_u, top_z) + below,
                None => 0.0,
            };
            bounds[c] = below;
        }
        bounds[c]
    }
}

/// For the components on the worst paths from `starts`: how many calls the path has, and its
/// largest hops by p99 cost, largest first (the earlier hop first on a tie). Only the findings
/// need them, so they are found for their paths alone, each component once (linear in all).
fn tops(cx: &Context, w: &Worst, starts: &[usize]) -> FxHashMap<usize, (u32, Top)> {
    let mut on_paths = Vec::new();
    let mut seen = FxHashSet::default();
    for &start in starts {
        let mut at = Some(start);
        while let Some(c) = at.filter(|&c| seen.insert(c)) {
            on_paths.push(c);
            at = w.after(cx, c);
        }
    }
    // Tarjan numbers components sinks first: a path's next component is done before it.
    on_paths.sort_unstable();
    let mut out: FxHashMap<usize, (u32, Top)> = FxHashMap::default();
    for c in on_paths {
        let Some(e) = w.next[c] else {
            out.insert(c, (0, Top::EMPTY));
            continue;
        };
        let hop = hop(cx, e).p99();
        let t = cx.sync().component[ends(cx, e).1.index()] as usize;
        let (len, below) = out[&t];
        let mut top = Top::EMPTY;
        let mut rest = below.hops().peekable();
        let mut this = Some((hop, e));
        for slot in 0..TOP {
            let next = match (this, rest.peek()) {
                (Some(h), Some(&r)) if h.0 >= r.0 => this.take(),
                (_, Some(_)) => rest.next(),
                (Some(_), None) => this.take(),
                (None, None) => None,
            };
            if let Some((cost, edge)) = next {
                top.cost[slot] = cost;
                top.edge[slot] = edge.index() as u32;
            }
        }
        out.insert(c, (len + 1, top));
    }
    out
}

fn worst(cx: &Context) -> Worst {
    let sync = cx.sync();
    let facts = cx.call_facts();
    let n = sync.callable();
    let mut w = Worst {
        cost: vec![0.0; n],
        next: vec![None; n],
    };
    // Tarjan lists components sinks first: every callee is final before its callers. Calls inside
    // a cycle add nothing (the cycle is S107's finding).
    for (id, members) in sync.callable_components() {
        // The chosen call's place among all calls, for breaking ties.
        let mut chosen_at = 0;
        for &member in members {
            for call in sync.calls_with(member) {
                let (e, t, k) = (call.edge, call.component, call.at);
                if t == id {
                    continue;
                }
                let hop = Hop::new(
                    own(cx, call.callee),
                    facts.timeout(k).map(|d| d.as_millis()),
                    facts.attempts[k],
                    facts.fan_out(k),
                );
                let cost = hop.p99() + w.cost[t];
                let better = w.next[id].is_none()
                    || cost > w.cost[id]
                    || cost == w.cost[id] && facts.before(cx, k, chosen_at);
                if better {
                    w.cost[id] = cost;
                    w.next[id] = Some(e);
                    chosen_at = k;
                }
            }
        }
    }
    w
}

/// The components on the entrypoints' worst paths, as a forest: each points to the component its
/// path goes to next. Sums are drawn once per component, from the end of the paths back, and each
/// entrypoint adds its own work to the sums of its component.
struct Forest {
    /// First child, next sibling, and the child with the largest subtree; `NONE` for none.
    child: Vec<u32>,
    sibling: Vec<u32>,
    heavy: Vec<u32>,
    /// First entrypoint (service index) of a component, and the next one of the same component.
    entry: Vec<u32>,
    next_entry: Vec<u32>,
    roots: Vec<u32>,
}

const NONE: u32 = u32::MAX;

fn forest(cx: &Context, w: &Worst, prune: bool) -> Forest {
    let sync = cx.sync();
    let n = sync.callable();
    let comp = |node: NodeIndex| sync.component[node.index()] as usize;
    let parent = |c: usize| w.after(cx, c);
    let mut f = Forest {
        child: vec![NONE; n],
        sibling: vec![NONE; n],
        heavy: vec![NONE; n],
        entry: vec![NONE; n],
        next_entry: vec![NONE; cx.model.services.len()],
        roots: Vec::new(),
    };
    let mut needed = vec![false; n];
    let mut bounds = vec![f64::NAN; n];
    let (top_u, top_z) = top_slice();
    for (si, service) in cx.model.services.iter().enumerate().rev() {
        let Some(budget) = &service.budget else {
            continue;
        };
        let entry = cx.graph.service_node(si);
        let mut c = comp(entry);
        // No sample can exceed the sum of every hop's top slice: an entrypoint whose sum stays
        // within the budget cannot be over it, and is not estimated (most budgets have room).
        let own = entry_hop(cx, entry).cost_at(top_u, top_z);
        if prune
            && (own + w.bound(cx, c, &mut bounds)) * (1.0 + BOUND_MARGIN) < budget.value.as_millis()
        {
            continue;
        }
        f.next_entry[si] = f.entry[c];
        f.entry[c] = si as u32;
        // Each component is walked once, so marking the paths is linear.
        while !needed[c] {
            needed[c] = true;
            match parent(c) {
                Some(p) => c = p,
                None => break,
            }
        }
    }
    // Callers come after their callees in Tarjan's order: walking it backwards, a component's
    // subtree is complete before it is added to its parent's.
    let mut size = vec![1u32; n];
    for c in (0..n).rev() {
        if !needed[c] {
            continue;
        }
        match parent(c) {
            Some(p) => {
                f.sibling[c] = f.child[p];
                f.child[p] = c as u32;
                size[p] += size[c];
                let h = f.heavy[p];
                if h == NONE || size[c] > size[h as usize] {
                    f.heavy[p] = c as u32;
                }
            }
            None => f.roots.push(c as u32),
        }
    }
    f.roots.reverse();
    f
}

/// Estimates every entrypoint's p99 and returns those above their budget, as (service index,
/// estimate). Each component of the forest is drawn once: a child's sums are its parent's plus
/// its own hop. The child with the largest subtree takes over its parent's sums in place and the
/// others get copies, so at most a logarithmic number of sums are held at once.
fn estimates(cx: &Context, w: &Worst, prune: bool) -> Vec<(usize, f64)> {
    let f = forest(cx, w, prune);
    let mut strata = Strata::default();
    let mut found = Vec::new();
    let mut scratch = vec![0.0; SAMPLES];
    let mut visit = |c: usize, sums: &[f64], strata: &mut Strata| {
        let mut si = f.entry[c];
        while si != NONE {
            let service = &cx.model.services[si as usize];
            let node = cx.graph.service_node(si as usize);
            scratch.copy_from_slice(sums);
            strata.add(&mut scratch, entry_seed(cx, node), &entry_hop(cx, node));
            let p99 = p99_of(&mut scratch);
            let budget = service
                .budget
                .as_ref()
                .map_or(f64::INFINITY, |b| b.value.as_millis());
            if p99 > budget {
                found.push((si as usize, p99));
            }
            si = f.next_entry[si as usize];
        }
    };
    let hop_into = |c: usize, sums: &mut Vec<f64>, strata: &mut Strata| {
        let e = w.next[c].expect("a child has a path onwards");
        strata.add(sums, call_seed(cx, e), &hop(cx, e));
    };
    // Frames: a component, its sums, and the next child to visit with a copy.
    let mut stack: Vec<(usize, Vec<f64>, u32)> = Vec::new();
    for &root in &f.roots {
        let root = root as usize;
        let sums = vec![0.0; SAMPLES];
        visit(root, &sums, &mut strata);
        stack.push((root, sums, f.child[root]));
        while let Some((c, sums, cursor)) = stack.last_mut() {
            let mut k = *cursor;
            while k != NONE && k == f.heavy[*c] {
                k = f.sibling[k as usize];
            }
            if k != NONE {
                *cursor = f.sibling[k as usize];
                let mut copy = sums.clone();
                let k = k as usize;
                hop_into(k, &mut copy, &mut strata);
                visit(k, &copy, &mut strata);
                stack.push((k, copy, f.child[k]));
            } else {
                let (c, mut sums, _) = stack.pop().expect("the loop holds a frame");
                let h = f.heavy[c];
                if h != NONE {
                    let h = h as usize;
                    hop_into(h, &mut sums, &mut strata);
                    visit(h, &sums, &mut strata);
                    stack.push((h, sums, f.child[h]));
                }
            }
        }
    }
    found
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if cx.model.services.iter().all(|s| s.budget.is_none()) {
        return;
    }
    let w = worst(cx);
    let found = estimates(cx, &w, true);
    let sync = cx.sync();
    let starts: Vec<usize> = found
        .iter()
        .map(|&(si, _)| sync.component[cx.graph.service_node(si).index()] as usize)
        .collect();
    let tops = tops(cx, &w, &starts);
    for (si, p99) in found {
        out.push(diagnostic(cx, &w, &tops, si, p99));
    }
}

fn diagnostic(
    cx: &Context,
    w: &Worst,
    tops: &FxHashMap<usize, (u32, Top)>,
    si: usize,
    p99: f64,
) -> Diagnostic {
    let micros = |ms: f64| (ms * 1000.0).round() as u64;
    let sync = cx.sync();
    let comp = |node: NodeIndex| sync.component[node.index()] as usize;
    let service = &cx.model.services[si];
    let name = &service.name.value;
    let entry = cx.graph.service_node(si);
    let budget_ms = service.budget.as_ref().map_or(0.0, |b| b.value.as_millis());
    let start = comp(entry);
    // The first hops of the path; a long one is cut short.
    let mut edges = Vec::new();
    let mut at = start;
    while let Some(e) = w.next[at] {
        if edges.len() == SHOWN_HOPS {
            break;
        }
        edges.push(e);
        at = comp(ends(cx, e).1);
    }
    let mut path = path_names(cx, entry, &edges, 0);
    let (len, top) = tops[&start];
    let more = len as usize - edges.len();
    if more > 0 {
        path.push_str(&format!(" → … {more} more calls"));
    }
    // The hops that dominate: by p99 cost, the fewest (at most three) that make two thirds of
    // the sum. `None` is the entrypoint's own work.
    let own_cost = entry_hop(cx, entry).p99();
    let sum = own_cost + w.cost[start];
    let mut candidates: Vec<(f64, Option<EdgeIndex>)> = vec![(own_cost, None)];
    candidates.extend(top.hops().map(|(c, e)| (c, Some(e))));
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut dominant = Vec::new();
    let mut covered = 0.0;
    for (cost, e) in candidates {
        if dominant.len() == TOP || covered >= sum * 2.0 / 3.0 || cost <= 0.0 {
            break;
        }
        covered += cost;
        dominant.push((cost, e));
    }
    let dominant_names: Vec<String> = dominant
        .iter()
        .map(|&(cost, e)| {
            let Some(e) = e else {
                return format!("{name} itself (p99 {})", human(micros(cost)));
            };
            let who = cx.graph.name(cx.model, ends(cx, e).1);
            match hop(cx, e).fan_out {
                1 => format!("{who} (p99 {})", human(micros(cost))),
                k => format!("{who} (slowest of {k}, p99 {})", human(micros(cost))),
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
    let top = match dominant.first() {
        Some(&(_, Some(e))) => cx.graph.name(cx.model, ends(cx, e).1),
        _ => &name.0[..],
    };
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
    // The shown hops, and the dominant ones further down.
    let further = dominant
        .iter()
        .filter_map(|&(_, e)| e)
        .filter(|e| !edges.contains(e));
    for e in edges.iter().copied().chain(further) {
        let (a, b) = ends(cx, e);
        let hop = hop(cx, e);
        let mut label = format!(
            "{} → {}: p99 {}",
            cx.graph.name(cx.model, a),
            cx.graph.name(cx.model, b),
            human(micros(hop.p99()))
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
        estimate(hops)
    }

    fn hop(p50: f64, p99: f64) -> Hop {
        Hop::new(Own::fit(Some(p50), Some(p99)), None, 1, 1)
    }

    #[test]
    fn the_fast_exponential_matches_the_library_one() {
        let mut worst = 0.0f64;
        for i in -30_000..=30_000 {
            let x = f64::from(i) / 1_000.0;
            let (fast, exact) = (exp_fast(x), x.exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        assert!(worst < 1e-14, "relative error {worst:e}");
        assert_eq!(exp_fast(0.0), 1.0);
    }

    /// The bound that lets an entrypoint go unsampled rests on this: a hop's cost at a slice
    /// never falls as the slice rises, so no sample can exceed the top slice's cost, as
    /// `Hop::cost_at` gives it (within the margin).
    #[test]
    fn a_hops_cost_never_falls_as_the_slice_rises() {
        let mut strata = Strata::default();
        let (top_u, top_z) = top_slice();
        let mut hops = 0;
        for (p50, p99) in [(10.0, 10.0), (5.0, 40.0), (1.0, 900.0), (0.01, 10_000.0)] {
            for timeout in [None, Some(0.5), Some(8.0), Some(30.0), Some(5_000.0)] {
                for attempts in [1, 2, 5, 150] {
                    for fan_out in [1, 3, 50] {
                        let hop =
                            Hop::new(Own::fit(Some(p50), Some(p99)), timeout, attempts, fan_out);
                        strata.costs(&hop);
                        let top = hop.cost_at(top_u, top_z);
                        let values = &strata.values;
                        for pair in values.windows(2) {
                            assert!(
                                pair[1] >= pair[0] * (1.0 - 1e-12),
                                "{hop:?}: {} then {}",
                                pair[0],
                                pair[1]
                            );
                        }
                        let max = values.iter().copied().fold(0.0, f64::max);
                        assert!(max <= top * (1.0 + BOUND_MARGIN), "{hop:?}: {max} > {top}");
                        hops += 1;
                    }
                }
            }
        }
        assert_eq!(hops, 240);
    }

    /// Passing over the entrypoints whose bound is within their budget changes no estimate, and
    /// does pass over some.
    #[test]
    fn entrypoints_within_their_bound_are_passed_over_without_changing_a_finding() {
        for budget in ["20ms", "150ms", "400ms", "2s"] {
            let text = crate::synth::topology(1_500, 9)
                .replace("budget: 15s", &format!("budget: {budget}"));
            let loaded = crate::load::load_test_text(&text);
            let graph = crate::graph::Graph::build(&loaded.model);
            let settings = crate::lints::Settings::default();
            let cx = Context::new(&loaded.model, &graph, &settings);
            let w = worst(&cx);
            let all = estimates(&cx, &w, false);
            assert_eq!(estimates(&cx, &w, true), all, "budget {budget}");
            let entered = |prune| {
                let f = forest(&cx, &w, prune);
                f.entry.iter().filter(|&&e| e != NONE).count()
            };
            if budget == "2s" {
                assert!(all.is_empty());
                assert!(entered(true) < entered(false), "nothing passed over");
            }
            if budget == "20ms" {
                assert!(!all.is_empty());
            }
        }
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
        close(only.dist().quantile(0.5), 30.0, 1e-9);
        close(only.dist().quantile(0.99), 90.0, 1e-9);
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
        close(fan.p99(), own.dist().quantile(0.99f64.powf(0.1)), 1e-9);
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
        let pass = own.dist().cdf(60.0);
        let retry_q = (0.99 - pass) / (1.0 - pass);
        close(h.p99(), 60.0 + own.dist().quantile(retry_q), 1e-9);
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
    fn timeouts_keep_a_slow_callee_within_the_budget() {
        // api's own p99 is 900ms, but the call gives up after 40ms, twice: 20ms + 80ms at most.
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

    #[test]
    fn entrypoints_that_share_a_path_are_each_estimated() {
        // Constant latencies make every estimate an exact sum: e1 → x → y is 10 + 20 + 30,
        // e2 → x → y is 5 + 20 + 30, x → y is 20 + 30, y alone 30.
        let found = run(
            check,
            "topolint: 1
defaults:
  calls: { timeout: 1s }
services:
  e1: { latency: { p50: 10ms, p99: 10ms }, budget: 59ms, calls: [{ to: x }] }
  e2: { latency: { p50: 5ms, p99: 5ms }, budget: 55ms, calls: [{ to: x }] }
  x: { latency: { p50: 20ms, p99: 20ms }, budget: 49ms, calls: [{ to: y }] }
  y: { latency: { p50: 30ms, p99: 30ms }, budget: 30ms }
  e3: { latency: { p50: 1ms, p99: 1ms }, budget: 100ms, calls: [{ to: y }, { to: x }] }
",
        );
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "estimated p99 of e1 → x → y is 60ms, 1ms over e1's budget of 59ms; y (p99 30ms) and x (p99 20ms) dominate",
                "estimated p99 of x → y is 50ms, 1ms over x's budget of 49ms; y (p99 30ms) and x itself (p99 20ms) dominate",
            ]
        );
    }

    #[test]
    fn long_paths_are_cut_short_in_the_message() {
        let mut yaml = String::from("topolint: 1\nservices:\n");
        for i in 0..40 {
            yaml.push_str(&format!(
                "  s{i}: {{ latency: {{ p50: 5ms, p99: 5ms }}, calls: [{{ to: s{}, timeout: 1s }}] }}\n",
                i + 1
            ));
        }
        yaml.push_str("  s40: { latency: { p50: 5ms, p99: 5ms }, budget: 1ms }\n");
        yaml = yaml.replacen("  s0: {", "  s0: { budget: 100ms,", 1);
        let found = run(check, &yaml);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0]
                .message
                .starts_with("estimated p99 of s0 → s1 → s2 → s3 → s4 → s5 → s6 → s7 → s8 → s9 → s10 → s11 → s12 → … 28 more calls is 205ms"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].related.len(), SHOWN_HOPS);
    }

    #[test]
    fn absurd_values_stay_finite() {
        let own = Own::fit(Some(20.0), Some(100.0));
        for hop in [
            Hop::new(own, Some(1e15), u64::MAX, u64::MAX),
            Hop::new(own, Some(1e-3), u64::MAX, 1),
            Hop::new(own, None, 1, u64::MAX),
            Hop::new(Own::fit(Some(0.0), Some(1e15)), Some(1.0), 3, 2),
        ] {
            assert!(hop.p99().is_finite(), "{hop:?}");
            assert!(est(&[hop]).is_finite(), "{hop:?}");
        }
    }
}
