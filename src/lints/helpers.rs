//! Queries that several rules share: which messages flow where, who consumes them, and how to
//! name a list of nodes in a message. Each is linear in the model's size.

use rustc_hash::{FxHashMap, FxHashSet};

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::graph::EdgeKind;
use crate::model::NodeKind;

use super::Context;

/// Where messages flow: what each channel carries and who consumes each message.
pub struct MessageFlows<'m> {
    /// By channel index, the messages it carries, sorted and without repeats.
    pub carried: Vec<Vec<&'m str>>,
    /// By message name, the services (by index) that consume it.
    pub consumers: FxHashMap<&'m str, FxHashSet<u32>>,
}

impl<'m> MessageFlows<'m> {
    pub fn new(cx: &Context<'m>) -> MessageFlows<'m> {
        let carried = carried_messages(cx);
        let consumers = message_consumers(cx, &carried);
        MessageFlows { carried, consumers }
    }
}

/// The messages each channel carries: those it lists and those published or requested on it.
pub fn carried_messages<'m>(cx: &Context<'m>) -> Vec<Vec<&'m str>> {
    let model = cx.model;
    let mut carried: Vec<Vec<&str>> = model
        .channels
        .iter()
        .map(|c| c.messages.iter().map(|m| m.value.0.as_str()).collect())
        .collect();
    let mut on = |channel: &str, message: &'m str| {
        if let Some(index) = channel_index(cx, channel) {
            carried[index].push(message);
        }
    };
    for service in &model.services {
        for p in &service.publishes {
            if let Some(m) = &p.message {
                on(&p.to.value, &m.value);
            }
        }
        for r in &service.requests {
            if let Some(m) = &r.options.message {
                on(&r.to.value, &m.value);
            }
        }
    }
    for list in &mut carried {
        list.sort_unstable();
        list.dedup();
    }
    carried
}

/// Services that consume each message (explicitly, or by consuming a channel that carries it).
/// Only `consumes` edges count: a requester reading its `reply` channel is not a consumer here.
pub fn message_consumers<'m>(
    cx: &Context<'m>,
    carried: &[Vec<&'m str>],
) -> FxHashMap<&'m str, FxHashSet<u32>> {
    let mut consumers: FxHashMap<&str, FxHashSet<u32>> = FxHashMap::default();
    for (si, service) in cx.model.services.iter().enumerate() {
        for c in &service.consumes {
            if let Some(m) = &c.message {
                consumers
                    .entry(m.value.0.as_str())
                    .or_default()
                    .insert(si as u32);
            }
            if let Some(index) = channel_index(cx, &c.from.value) {
                for m in &carried[index] {
                    consumers.entry(m).or_default().insert(si as u32);
                }
            }
        }
    }
    consumers
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
    fn name_lists_read_as_prose() {
        assert_eq!(name_list::<&str>(&[]), "");
        assert_eq!(name_list(&["a"]), "a");
        assert_eq!(name_list(&["a", "b"]), "a and b");
        assert_eq!(name_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(name_list(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }
}
