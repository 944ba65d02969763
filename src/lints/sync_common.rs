//! What the synchronous rules (S103–S110) share: a call's attempts, a node's declared latency,
//! the path of a call item, and a bounded way to show a path of calls in a message.

use petgraph::graph::{EdgeIndex, NodeIndex};

use crate::graph::Edge;
use crate::model::{Call, CallOptions, Duration, Latency, Model, NodeKind};

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

/// What the synchronous rules read of every call and callee, gathered once into flat arrays.
/// Reading a call from the model costs a cache miss or two (the caller's list, then the item),
/// reading a callee's latency another (its boxed block), and S104, S105, S106 and S110 each read
/// every call: here a rule reads a call's facts at its place among all calls
/// ([`SyncCall::at`](crate::graph::SyncCall::at)), side by side with the calls it walks.
pub struct CallFacts {
    /// Per call: where it stands in the order that breaks ties ([`CallFacts::before`]).
    key: Vec<CallKey>,
    /// Per call: attempts, `retries + 1`.
    pub attempts: Vec<u64>,
    /// Per call: how long one attempt waits.
    pub timeout: Vec<Option<Duration>>,
    /// Per call: parallel calls per request (1 when not set).
    pub fan_out: Vec<u64>,
    /// Per service and external (node indices start with them): declared p50 and p99 in
    /// microseconds, [`UNDECLARED`] when not declared.
    declared: Vec<[u64; 2]>,
}

/// A declared latency that is not there: durations are at most 10^18 microseconds.
const UNDECLARED: u64 = u64::MAX;

/// A call's caller (the first 16 bytes of its name, big-endian, and its index) and its place in
/// the caller's list.
#[derive(Clone, Copy)]
struct CallKey {
    prefix: [u64; 2],
    owner: u32,
    item: u32,
}

impl CallFacts {
    pub fn new(cx: &Context) -> CallFacts {
        let calls = cx.sync().all_calls();
        let mut facts = CallFacts {
            key: Vec::with_capacity(calls.len()),
            attempts: Vec::with_capacity(calls.len()),
            timeout: Vec::with_capacity(calls.len()),
            fan_out: Vec::with_capacity(calls.len()),
            declared: Vec::new(),
        };
        // Calls are listed caller by caller, in model order: the reads below go forward.
        for &(e, _) in calls {
            let edge = cx.graph.graph[e];
            let options = &call(cx, edge).options;
            let name = cx.model.services[edge.owner as usize].name.value.as_bytes();
            let mut prefix = [0u8; 16];
            let n = name.len().min(16);
            prefix[..n].copy_from_slice(&name[..n]);
            let prefix = u128::from_be_bytes(prefix);
            facts.key.push(CallKey {
                prefix: [(prefix >> 64) as u64, prefix as u64],
                owner: edge.owner,
                item: edge.item,
            });
            facts.attempts.push(attempts(options));
            facts
                .timeout
                .push(options.timeout.as_ref().map(|t| t.value));
            facts
                .fan_out
                .push(options.fan_out.as_ref().map_or(1, |k| k.value));
        }
        let timed = cx.model.services.len() + cx.model.externals.len();
        facts.declared = (0..timed)
            .map(|i| {
                latency(cx, NodeIndex::new(i)).map_or([UNDECLARED; 2], |l| {
                    [&l.p50, &l.p99].map(|d| d.as_ref().map_or(UNDECLARED, |d| d.value.0))
                })
            })
            .collect();
        facts
    }

    /// Whether call `a` comes before call `b` (both places among all calls) in an order that does
    /// not depend on where the services are declared: the caller's name, then the place in the
    /// caller's list. Ties between paths are broken by it, so that reordering the services or
    /// moving them between files changes no finding. Names are compared by their first 16 bytes
    /// (zero-padded, which keeps a name after its prefixes); only names that share those are
    /// read from the model.
    pub fn before(&self, model: &Model, a: usize, b: usize) -> bool {
        let (a, b) = (self.key[a], self.key[b]);
        if a.prefix != b.prefix {
            return a.prefix < b.prefix;
        }
        if a.owner == b.owner {
            return a.item < b.item;
        }
        let name = |k: CallKey| -> &str { &model.services[k.owner as usize].name.value };
        (name(a), a.item) < (name(b), b.item)
    }

    /// How long call `k` may wait over all its attempts, `None` without a timeout.
    pub fn wait(&self, k: usize) -> Option<u64> {
        wait(self.timeout[k], self.attempts[k])
    }

    /// The declared p50 and p99 of a node (`None` for nodes other than services and externals).
    pub fn declared(&self, node: NodeIndex) -> [Option<Duration>; 2] {
        let [p50, p99] = self
            .declared
            .get(node.index())
            .copied()
            .unwrap_or([UNDECLARED; 2]);
        [p50, p99].map(|d| (d != UNDECLARED).then_some(Duration(d)))
    }

    /// The declared p99 of a node, 0 when undeclared.
    pub fn p99(&self, node: NodeIndex) -> Duration {
        self.declared(node)[1].unwrap_or(Duration(0))
    }
}

/// How long a call with this timeout may wait over its attempts, `None` without a timeout.
pub fn wait(timeout: Option<Duration>, attempts: u64) -> Option<u64> {
    timeout.map(|t| t.0.saturating_mul(attempts))
}

/// `services.<name>.calls[<i>]`.
pub fn call_path(cx: &Context, edge: Edge) -> String {
    cx.graph.edge_path(cx.model, edge)
}

/// The declared latency of a service or external.
pub fn latency<'m>(cx: &Context<'m>, node: NodeIndex) -> Option<&'m Latency> {
    let node = cx.graph.node_ref(node);
    match node.kind {
        NodeKind::Service => cx.model.services[node.index as usize].latency.as_deref(),
        NodeKind::External => cx.model.externals[node.index as usize].latency.as_deref(),
        _ => None,
    }
}

/// The declared p99 of a service or external, 0 when undeclared.
pub fn p99(cx: &Context, node: NodeIndex) -> Duration {
    latency(cx, node)
        .and_then(|l| l.p99.as_ref())
        .map_or(Duration(0), |p| p.value)
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
  b: { calls: [{ to: leaf }] }
  a: { calls: [{ to: leaf, retries: 4 }] }
  checkout-service-eu-west-a: { calls: [{ to: leaf }] }
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
                calls.push((c.at, name, edge.item));
                assert_eq!(facts.attempts[c.at], attempts(&call(&cx, edge).options));
                let timeout = call(&cx, edge).options.timeout.as_ref().map(|t| t.value);
                assert_eq!(facts.timeout[c.at], timeout);
            }
        }
        let fan_out: Vec<u64> = calls.iter().map(|c| facts.fan_out[c.0]).collect();
        assert_eq!(fan_out.iter().filter(|&&k| k == 3).count(), 1);
        assert_eq!(facts.attempts.iter().filter(|&&n| n == 5).count(), 1);
        let mut by_facts = calls.clone();
        by_facts.sort_by(|a, b| {
            if facts.before(&loaded.model, a.0, b.0) {
                std::cmp::Ordering::Less
            } else if facts.before(&loaded.model, b.0, a.0) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        let mut by_name = calls;
        by_name.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
        assert_eq!(by_facts, by_name);
        let leaf = graph.service_node(5);
        assert_eq!(facts.p99(leaf), Duration(40_000));
        assert_eq!(
            facts.declared(leaf),
            [Some(Duration(5_000)), Some(Duration(40_000))]
        );
        assert_eq!(facts.declared(graph.service_node(0)), [None, None]);
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
