//! Queries that several rules share: which messages flow where, who consumes them, and how to
//! name a list of nodes in a message. Each is linear in the model's size.

use rustc_hash::FxHashMap;

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::graph::{EdgeKind, all_edges};
use crate::model::NodeKind;
use crate::source::Span;

use super::Context;

/// Where messages flow: every message that is named anywhere, where each is first produced,
/// consumed and listed, what each channel carries and who consumes each message. Built in one
/// pass over the graph's edges, whose ends give the channels without looking names up.
pub struct MessageFlows<'m> {
    /// Every message named anywhere, by id: the contracts first (a contract's id is its index in
    /// `model.messages`), then the names without one, as they first appear.
    pub names: Vec<&'m str>,
    ids: FxHashMap<&'m str, u32>,
    /// By message id: where it is first published or requested, first consumed by name, and
    /// first listed by a channel.
    pub first: Vec<FirstSeen>,
    /// What each channel carries, all channels in one list (see [`MessageFlows::carried`]):
    /// `carried[carried_start[c]..carried_start[c + 1]]` for channel `c`.
    carried: Vec<u32>,
    carried_start: Vec<u32>,
    /// By message id, the services (by index) that consume it, sorted: `consumers[start[id]..
    /// start[id + 1]]`.
    consumers: Vec<u32>,
    start: Vec<u32>,
    /// (message id, channel index) of every consume that names its message.
    pub named_consumes: Vec<(u32, u32)>,
}

/// Where a message is first seen in each role (the earliest place in file order).
#[derive(Debug, Clone, Copy, Default)]
pub struct FirstSeen {
    pub producer: Option<Span>,
    pub consumer: Option<Span>,
    pub channel: Option<Span>,
}

fn earliest(slot: &mut Option<Span>, span: Span) {
    if slot.is_none_or(|s| (span.file, span.start) < (s.file, s.start)) {
        *slot = Some(span);
    }
}

impl<'m> MessageFlows<'m> {
    pub fn new(cx: &Context<'m>) -> MessageFlows<'m> {
        let model = cx.model;
        let mut flows = MessageFlows {
            names: Vec::with_capacity(model.messages.len()),
            ids: FxHashMap::default(),
            first: vec![FirstSeen::default(); model.messages.len()],
            carried: Vec::new(),
            carried_start: Vec::new(),
            consumers: Vec::new(),
            start: Vec::new(),
            named_consumes: Vec::new(),
        };
        flows.ids.reserve(model.messages.len());
        for message in &model.messages {
            flows.intern(&message.name.value);
        }
        // (channel, message) for every message a channel lists or is sent, gathered in one list
        // and sorted once: a list per channel was 20k allocations at 100k services.
        let mut carried = Vec::new();
        for (ci, channel) in model.channels.iter().enumerate() {
            for m in &channel.messages {
                let id = flows.intern(&m.value);
                earliest(&mut flows.first[id as usize].channel, m.span);
                carried.push((ci as u32, id));
            }
        }
        // (message, service) for every consume of a message, and (channel, service) for every
        // consume, to be joined with what the channels carry once that is complete.
        let mut consumed = Vec::new();
        let mut consumes = Vec::new();
        for (from, to, edge) in all_edges(cx.graph) {
            // `owner` is a service for every edge but a dead letter's.
            let service = || &model.services[edge.owner as usize];
            let (named, span, channel) = match edge.kind {
                EdgeKind::Publish => {
                    let p = &service().publishes[edge.item as usize];
                    (&p.message, p.span, to)
                }
                EdgeKind::Request => {
                    let r = &service().requests[edge.item as usize];
                    (&r.options.message, r.span, to)
                }
                EdgeKind::Consume => {
                    let c = &service().consumes[edge.item as usize];
                    let channel = cx.graph.node_ref(from).index;
                    consumes.push((channel, edge.owner));
                    if let Some(m) = &c.message {
                        let id = flows.intern(&m.value);
                        earliest(&mut flows.first[id as usize].consumer, c.span);
                        consumed.push((id, edge.owner));
                        flows.named_consumes.push((id, channel));
                    }
                    continue;
                }
                _ => continue,
            };
            if let Some(m) = named {
                let id = flows.intern(&m.value);
                earliest(&mut flows.first[id as usize].producer, span);
                carried.push((cx.graph.node_ref(channel).index, id));
            }
        }
        (flows.carried, flows.carried_start) = grouped(carried, model.channels.len());
        for (channel, service) in consumes {
            consumed.extend(
                flows
                    .carried(channel as usize)
                    .iter()
                    .map(|&id| (id, service)),
            );
        }
        (flows.consumers, flows.start) = grouped(consumed, flows.names.len());
        flows
    }

    /// The id of a message name, given one if it has none yet.
    fn intern(&mut self, name: &'m str) -> u32 {
        let next = self.names.len() as u32;
        let id = *self.ids.entry(name).or_insert(next);
        if id == next {
            self.names.push(name);
            if self.first.len() < self.names.len() {
                self.first.push(FirstSeen::default());
            }
        }
        id
    }

    /// The id of a message that is named somewhere.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The ids of the messages channel `c` carries (those it lists and those published or
    /// requested on it), sorted and without repeats.
    pub fn carried(&self, c: usize) -> &[u32] {
        &self.carried[self.carried_start[c] as usize..self.carried_start[c + 1] as usize]
    }

    /// The services that consume message `id`, by index, sorted.
    pub fn consumers(&self, id: u32) -> &[u32] {
        &self.consumers[self.start[id as usize] as usize..self.start[id as usize + 1] as usize]
    }
}

/// (key, value) pairs as one list of values grouped by key, sorted and without repeats, and
/// where each of the `keys` keys starts in it: key `k`'s values are `values[starts[k]..starts[k +
/// 1]]`.
fn grouped(mut pairs: Vec<(u32, u32)>, keys: usize) -> (Vec<u32>, Vec<u32>) {
    pairs.sort_unstable();
    pairs.dedup();
    let mut starts = Vec::with_capacity(keys + 1);
    let mut at = 0;
    for key in 0..keys as u32 {
        starts.push(at as u32);
        while pairs.get(at).is_some_and(|&(k, _)| k == key) {
            at += 1;
        }
    }
    starts.push(at as u32);
    (pairs.into_iter().map(|(_, value)| value).collect(), starts)
}

/// The index of the channel called `name`, if it is one.
pub fn channel_index(cx: &Context, name: &str) -> Option<usize> {
    cx.model
        .lookup(name)
        .filter(|n| n.kind == NodeKind::Channel)
        .map(|n| n.index as usize)
}

/// The nodes at the other end of a node's edges of these kinds, each once, in model order.
pub fn neighbours(
    cx: &Context,
    node: NodeIndex,
    direction: Direction,
    kinds: &[EdgeKind],
) -> Vec<NodeIndex> {
    let mut out: Vec<NodeIndex> = kinds
        .iter()
        .flat_map(|&kind| cx.graph.edges_of(node, direction, kind))
        .map(|(_, other, _)| other)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Names as a message lists them: `a`, `a and b`, `a, b and c`, `a, b, c and 2 more`. Sorted, so
/// that the names shown do not depend on the order of declaration.
pub fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 3;
    let mut names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    names.sort_unstable();
    match names.len() {
        0 => String::new(),
        1 => names[0].to_string(),
        n if n <= SHOWN => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Loads a topology from text and runs one check on it, for the rules' unit tests.
#[cfg(test)]
pub use super::sync_common::test::run;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_flow_over_publishes_requests_consumes_and_channel_lists() {
        // `v` is consumed by name and through a channel that lists it; `w` only by a channel
        // that a request carries it on; the dead letter and the reply carry nothing.
        let yaml = "topolint: 1
services:
  p:
    publishes: [{ to: a, message: u }]
    requests: [{ to: q, reply: r, message: w, timeout: 1s }]
  x: { consumes: [{ from: a, idempotent: true }, { from: b, message: v, idempotent: true }] }
  y: { consumes: [{ from: b, idempotent: true }, { from: q, idempotent: true }] }
  z: { consumes: [{ from: dl, idempotent: true }, { from: r, idempotent: true }] }
channels:
  a: { kind: topic, dead_letter: dl }
  b: { kind: topic, messages: [v] }
  q: { kind: queue }
  r: { kind: queue }
  dl: { kind: queue }
messages:
  v: { version: 1 }
  unused: { version: 1 }
";
        let loaded = crate::load::load_test_text(yaml);
        let graph = crate::graph::Graph::build(&loaded.model);
        let settings = crate::lints::Settings::default();
        let cx = Context::new(&loaded.model, &graph, &settings);
        let flows = MessageFlows::new(&cx);
        // Contracts first, then names as they appear.
        assert_eq!(flows.names[..2], ["v", "unused"]);
        let consumers = |name: &str| -> Vec<&str> {
            let id = flows.id(name).expect("a named message");
            flows
                .consumers(id)
                .iter()
                .map(|&s| &*loaded.model.services[s as usize].name.value)
                .collect()
        };
        assert_eq!(consumers("u"), ["x"]);
        assert_eq!(consumers("v"), ["x", "y"]);
        assert_eq!(consumers("w"), ["y"]);
        assert!(consumers("unused").is_empty());
        let carried = |channel: usize| -> Vec<&str> {
            let names = flows.carried(channel).iter();
            names.map(|&id| flows.names[id as usize]).collect()
        };
        assert_eq!(carried(0), ["u"]);
        assert_eq!(carried(1), ["v"]);
        assert_eq!(carried(2), ["w"]);
        assert!(carried(3).is_empty() && carried(4).is_empty());
        let first = flows.first[flows.id("v").unwrap() as usize];
        assert!(first.producer.is_none() && first.consumer.is_some() && first.channel.is_some());
        assert_eq!(flows.named_consumes, [(flows.id("v").unwrap(), 1)]);
        let unused = flows.first[flows.id("unused").unwrap() as usize];
        assert!(
            unused
                .producer
                .or(unused.consumer)
                .or(unused.channel)
                .is_none()
        );
    }

    #[test]
    fn name_lists_read_as_prose() {
        assert_eq!(name_list::<&str>(&[]), "");
        assert_eq!(name_list(&["a"]), "a");
        assert_eq!(name_list(&["a", "b"]), "a and b");
        assert_eq!(name_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(name_list(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }
}
