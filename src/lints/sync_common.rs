//! What the synchronous rules (S102–S110) share: a call's attempts, a node's declared latency,
//! the path of a call item, and a bounded way to show a path of calls in a message.

use petgraph::graph::{EdgeIndex, NodeIndex};
use rustc_hash::FxHashMap;

use crate::graph::Edge;
use crate::model::{Call, CallOptions, Duration, Latency, Service, Spanned};

use super::Context;

/// Hops shown in a message before the rest of a path is summarised: keeps every finding's
/// text bounded, so that many findings on long paths stay linear in total.
pub const SHOWN_HOPS: usize = 12;

/// Attempts a call makes: `retries + 1`, after `defaults`.
pub fn attempts(options: &CallOptions) -> u64 {
    options
        .retries
        .as_ref()
        .map_or(0, |r| r.value.max())
        .saturating_add(1)
}

/// The `calls` item behind a call edge.
pub fn call<'m>(cx: &Context<'m>, edge: Edge) -> &'m Call {
    &cx.model.services[edge.owner as usize].calls[edge.item as usize]
}

/// What the synchronous rules read of every call, gathered once into flat arrays. The rules
/// that walk the call graph's condensation (S104, S105, S106, S110) visit calls component by
/// component, in no order the model's memory follows: reading a call there costs a cache miss or
/// two (the caller's list, then the item), and ties between paths were broken by comparing caller
/// names, another miss each. The rules that look at one call at a time (S102, S103, S108, S109)
/// read every call, 200 bytes apart, for a few of them. Here a rule reads a call's facts at its
/// place among all calls ([`SyncCall::at`](crate::graph::SyncCall::at)), beside the calls it
/// walks, and the model only for what it reports. Kept small (21 bytes a call, 16 a service and
/// 16 a service or external): the rules' memory adds to the model's.
pub struct CallFacts {
    /// Per call: the caller (a service index).
    caller: Vec<u32>,
    /// Per service: the first 16 bytes of its name, zero-padded, as big-endian integers.
    prefix: Vec<[u64; 2]>,
    /// Per call: attempts, `retries + 1`.
    pub attempts: Vec<u64>,
    /// Per call: how long one attempt waits in microseconds, [`ABSENT`] without a timeout.
    timeout: Vec<u64>,
    /// Per call: which of [`CallFacts::BREAKER`], [`CallFacts::BATCH`],
    /// [`CallFacts::IN_TRANSACTION`] and [`CallFacts::NEEDS`] it has.
    flags: Vec<u8>,
    /// The calls with a `fan_out` (place among all calls → k); most calls have none.
    fan_out: FxHashMap<u32, u64>,
    /// Per service and external (node index): the declared p50 and p99 in microseconds,
    /// [`ABSENT`] when not declared. Read in one pass in model order: callees come in no
    /// order the model's memory follows, and each is a cache miss or two (the node, then its
    /// boxed latency).
    declared: Vec<[u64; 2]>,
}

/// A duration not given (a call without a timeout, a latency not declared): durations are at
/// most 10^18 microseconds.
const ABSENT: u64 = u64::MAX;

impl CallFacts {
    pub fn new(cx: &Context) -> CallFacts {
        let sync = cx.sync();
        let calls = sync.all_calls();
        let mut facts = CallFacts {
            caller: Vec::with_capacity(calls.len()),
            prefix: Vec::with_capacity(cx.model.services.len()),
            attempts: Vec::with_capacity(calls.len()),
            timeout: Vec::with_capacity(calls.len()),
            flags: Vec::with_capacity(calls.len()),
            fan_out: FxHashMap::default(),
            declared: Vec::with_capacity(cx.model.services.len() + cx.model.externals.len()),
        };
        // Services and externals are the first nodes, in this order (see `Graph`); each service
        // is read once, for its latency and its name.
        let micros = |d: &Option<Spanned<Duration>>| d.as_ref().map_or(ABSENT, |d| d.value.0);
        let declared = |l: &Option<Box<Latency>>| {
            l.as_deref()
                .map_or([ABSENT; 2], |l| [micros(&l.p50), micros(&l.p99)])
        };
        for service in &cx.model.services {
            facts.declared.push(declared(&service.latency));
            let name = service.name.value.as_bytes();
            let mut prefix = [0u8; 16];
            let n = name.len().min(16);
            prefix[..n].copy_from_slice(&name[..n]);
            let prefix = u128::from_be_bytes(prefix);
            facts.prefix.push([(prefix >> 64) as u64, prefix as u64]);
        }
        facts
            .declared
            .extend(cx.model.externals.iter().map(|x| declared(&x.latency)));
        // Calls are listed caller by caller, in model order: the reads below go forward.
        for (k, &(e, _)) in calls.iter().enumerate() {
            let edge = cx.graph.graph[e];
            let options = &call(cx, edge).options;
            facts.caller.push(edge.owner);
            facts.attempts.push(attempts(options));
            let timeout = options.timeout.as_ref();
            facts.timeout.push(timeout.map_or(ABSENT, |t| t.value.0));
            let mut flags = 0;
            if options
                .circuit_breaker
                .as_ref()
                .is_some_and(|b| b.value.enabled())
            {
                flags |= Self::BREAKER;
            }
            if options.batch.as_ref().is_some_and(|b| b.value.enabled()) {
                flags |= Self::BATCH;
            }
            if options.in_transaction.as_ref().is_some_and(|t| t.value) {
                flags |= Self::IN_TRANSACTION;
            }
            if options.needs.is_some() {
                flags |= Self::NEEDS;
            }
            facts.flags.push(flags);
            if let Some(k_out) = &options.fan_out {
                facts.fan_out.insert(k as u32, k_out.value);
            }
        }
        facts
    }

    /// A call with a circuit breaker that is on.
    pub const BREAKER: u8 = 1;
    /// A call made once per item of a batch (`batch:`, on).
    pub const BATCH: u8 = 2;
    /// A call made with a transaction open (`in_transaction: true`).
    pub const IN_TRANSACTION: u8 = 4;
    /// A call that declares `needs` (see `topolint advise`).
    pub const NEEDS: u8 = 8;

    /// The number of calls: their places among all calls are `0..count()`.
    pub fn count(&self) -> usize {
        self.caller.len()
    }

    /// Whether call `k` has `flag`.
    pub fn has(&self, k: usize, flag: u8) -> bool {
        self.flags[k] & flag != 0
    }

    /// The calls that have `flag`, by their places among all calls.
    pub fn with(&self, flag: u8) -> impl Iterator<Item = usize> + '_ {
        (0..self.count()).filter(move |&k| self.has(k, flag))
    }

    /// Call `k`'s caller (a service index).
    pub fn caller(&self, k: usize) -> usize {
        self.caller[k] as usize
    }

    /// Call `k`'s caller, its place in the caller's `calls` list, and the call.
    pub fn item<'m>(&self, cx: &Context<'m>, k: usize) -> (&'m Service, usize, &'m Call) {
        let edge = cx.graph.graph[cx.sync().all_calls()[k].0];
        let service = &cx.model.services[self.caller(k)];
        let i = edge.item as usize;
        (service, i, &service.calls[i])
    }

    /// Whether call `a` comes before call `b` (both places among all calls) in an order that does
    /// not depend on where the services are declared: the caller's name, then the place in the
    /// caller's list. Ties between paths are broken by it, so that reordering the services or
    /// moving them between files changes no finding. Names are compared by their first 16 bytes
    /// (zero-padding keeps a name before the names it is a prefix of); only names that share
    /// those are read from the model.
    pub fn before(&self, cx: &Context, a: usize, b: usize) -> bool {
        let (ca, cb) = (self.caller[a] as usize, self.caller[b] as usize);
        if ca == cb {
            // A caller's calls are listed in the order of its list.
            return a < b;
        }
        if self.prefix[ca] != self.prefix[cb] {
            return self.prefix[ca] < self.prefix[cb];
        }
        let name = |s: usize| -> &str { &cx.model.services[s].name.value };
        name(ca) < name(cb)
    }

    /// How long one attempt of call `k` waits.
    pub fn timeout(&self, k: usize) -> Option<Duration> {
        let t = self.timeout[k];
        (t != ABSENT).then_some(Duration(t))
    }

    /// How long call `k` may wait over all its attempts, `None` without a timeout.
    pub fn wait(&self, k: usize) -> Option<u64> {
        wait(self.timeout(k), self.attempts[k])
    }

    /// A service's or external's declared p50 and p99; `None` for any other node.
    pub fn declared(&self, node: NodeIndex) -> [Option<Duration>; 2] {
        let [p50, p99] = self
            .declared
            .get(node.index())
            .copied()
            .unwrap_or([ABSENT; 2]);
        let read = |t: u64| (t != ABSENT).then_some(Duration(t));
        [read(p50), read(p99)]
    }

    /// A service's or external's declared p99, 0 when undeclared.
    pub fn p99(&self, node: NodeIndex) -> Duration {
        self.declared(node)[1].unwrap_or(Duration(0))
    }

    /// Parallel calls per request of call `k` (1 when not set).
    pub fn fan_out(&self, k: usize) -> u64 {
        if self.fan_out.is_empty() {
            return 1;
        }
        self.fan_out.get(&(k as u32)).copied().unwrap_or(1)
    }
}

/// How long a call with this timeout may wait over its attempts, `None` without a timeout.
pub fn wait(timeout: Option<Duration>, attempts: u64) -> Option<u64> {
    timeout.map(|t| t.0.saturating_mul(attempts))
}

/// A computed duration as a person writes it: `650ms`, `154.6ms`, `1.05s`, `3.02s`. Declared
/// values print with [`Duration`]'s own `Display`; sums and estimates need more digits than it
/// keeps above a second.
pub fn human(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros}us")
    } else if micros < 1_000_000 {
        let tenths = (micros + 50) / 100;
        if tenths.is_multiple_of(10) {
            format!("{}ms", tenths / 10)
        } else {
            format!("{}.{}ms", tenths / 10, tenths % 10)
        }
    } else {
        let ms = (micros + 500) / 1_000;
        let text = format!("{}.{:03}", ms / 1_000, ms % 1_000);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// The source and target of an edge.
pub fn ends(cx: &Context, edge: EdgeIndex) -> (NodeIndex, NodeIndex) {
    cx.graph
        .graph
        .edge_endpoints(edge)
        .expect("edge of this graph")
}

/// `a → b → c` for a path of calls; where the path passes through a cycle, the member it leaves
/// from is named too. A path longer than [`SHOWN_HOPS`] keeps its first node and its last hops,
/// with the calls between summarised.
pub fn path_names(cx: &Context, start: NodeIndex, edges: &[EdgeIndex], elided: usize) -> String {
    let name = |n: NodeIndex| cx.graph.name(cx.model, n).to_string();
    let mut names = vec![name(start)];
    let mut at = Some(start);
    if elided > 0 {
        names.push(format!("… {elided} calls …"));
        at = None;
    }
    for &e in edges {
        let (from, to) = ends(cx, e);
        match at {
            None => names.push(name(from)),
            Some(a) if a != from => names.push(format!("(cycle) {}", name(from))),
            Some(_) => {}
        }
        names.push(name(to));
        at = Some(to);
    }
    names.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::lints::Settings;

    #[test]
    fn the_facts_of_a_call_are_its_own_and_ties_go_by_caller_name_then_item() {
        // Callers whose names share their first 16 bytes, one a prefix of another, declared in
        // no particular order.
        let yaml = "topolint: 1
services:
  checkout-service-eu-west-b:
    calls: [{ to: leaf, timeout: 2s, retries: 2 }, { to: leaf, fan_out: 3 }]
  checkout-service-eu-west:
    calls: [{ to: leaf, timeout: 100ms }]
  b: { calls: [{ to: leaf, circuit_breaker: true, batch: { items: 50 } }] }
  a: { calls: [{ to: leaf, retries: 4, in_transaction: true, circuit_breaker: false }] }
  checkout-service-eu-west-a: { calls: [{ to: leaf, needs: { user_waits: true } }] }
  leaf: { latency: { p50: 5ms, p99: 40ms } }
";
        let loaded = crate::load::load_test_text(yaml);
        let graph = Graph::build(&loaded.model);
        let settings = Settings::default();
        let cx = Context::new(&loaded.model, &graph, &settings);
        let (sync, facts) = (cx.sync(), cx.call_facts());
        let mut calls = Vec::new();
        for si in 0..loaded.model.services.len() {
            for c in sync.calls_with(graph.service_node(si)) {
                let edge = graph.graph[c.edge];
                let name = loaded.model.services[si].name.value.to_string();
                calls.push((c.at, name.clone(), edge.item));
                assert_eq!(facts.attempts[c.at], attempts(&call(&cx, edge).options));
                let timeout = call(&cx, edge).options.timeout.as_ref().map(|t| t.value);
                assert_eq!(facts.timeout(c.at), timeout);
                let fan_out = call(&cx, edge)
                    .options
                    .fan_out
                    .as_ref()
                    .map_or(1, |k| k.value);
                assert_eq!(facts.fan_out(c.at), fan_out);
                let options = &call(&cx, edge).options;
                let flags = [
                    (
                        CallFacts::BREAKER,
                        options.circuit_breaker.as_ref().map(|b| b.value.enabled()),
                    ),
                    (
                        CallFacts::BATCH,
                        options.batch.as_ref().map(|b| b.value.enabled()),
                    ),
                    (
                        CallFacts::IN_TRANSACTION,
                        options.in_transaction.as_ref().map(|t| t.value),
                    ),
                    (CallFacts::NEEDS, options.needs.as_ref().map(|_| true)),
                ];
                for (flag, set) in flags {
                    assert_eq!(facts.has(c.at, flag), set == Some(true));
                }
                let (service, item, found) = facts.item(&cx, c.at);
                assert_eq!((&*service.name.value, item), (&*name, edge.item as usize));
                assert!(std::ptr::eq(found, call(&cx, edge)));
            }
        }
        // A caller's calls come in the order of its list (`before` relies on it).
        assert!(
            calls
                .windows(2)
                .all(|w| w[0].1 != w[1].1 || w[0].2 < w[1].2)
        );
        assert!(calls.windows(2).any(|w| w[0].1 == w[1].1));
        assert_eq!(calls.iter().filter(|c| facts.fan_out(c.0) == 3).count(), 1);
        for flag in [
            CallFacts::BREAKER,
            CallFacts::BATCH,
            CallFacts::IN_TRANSACTION,
            CallFacts::NEEDS,
        ] {
            assert_eq!(facts.with(flag).count(), 1);
        }
        assert_eq!(facts.attempts.iter().filter(|&&n| n == 5).count(), 1);
        let mut by_facts = calls.clone();
        by_facts.sort_by(|a, b| {
            if facts.before(&cx, a.0, b.0) {
                std::cmp::Ordering::Less
            } else if facts.before(&cx, b.0, a.0) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        let mut by_name = calls;
        by_name.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
        assert_eq!(by_facts, by_name);
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(human(250), "250us");
        assert_eq!(human(650_000), "650ms");
        assert_eq!(human(154_630), "154.6ms");
        assert_eq!(human(1_050_000), "1.05s");
        assert_eq!(human(3_020_000), "3.02s");
        assert_eq!(human(2_000_000), "2s");
        assert_eq!(human(999_990), "1000ms");
    }
}

#[cfg(test)]
pub mod test {
    //! Runs one check on a topology given as text.

    use crate::diagnostic::Diagnostic;
    use crate::graph::Graph;
    use crate::lints::{Context, Settings};

    /// The findings of `check` on `yaml`, sorted, with the given settings.
    pub fn run_with(
        check: fn(&Context, &mut Vec<Diagnostic>),
        settings: &Settings,
        yaml: &str,
    ) -> Vec<Diagnostic> {
        let loaded = crate::load::load_test_text(yaml);
        let graph = Graph::build(&loaded.model);
        let cx = Context::new(&loaded.model, &graph, settings);
        let mut out = Vec::new();
        check(&cx, &mut out);
        crate::diagnostic::sort(&mut out);
        out
    }

    /// The findings of `check` on `yaml` with the default settings.
    pub fn run(check: fn(&Context, &mut Vec<Diagnostic>), yaml: &str) -> Vec<Diagnostic> {
        run_with(check, &Settings::default(), yaml)
    }
}
