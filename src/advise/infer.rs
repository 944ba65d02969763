//! What topolint can tell about an edge's needs when the topology does not say: a call made
//! while a user-facing service waits (reachable from one over calls only, with no async hop in
//! between) has a person waiting on it.

use std::collections::VecDeque;

use petgraph::Direction;

use crate::graph::{EdgeKind, Graph};
use crate::model::{Model, NodeKind};

/// For every service, a user-facing service whose requests reach it over calls alone (the one
/// the search reaches it from first), if any. One breadth-first search from all user-facing
/// services at once: linear in the number of calls.
pub fn user_waiting(model: &Model, graph: &Graph) -> Vec<Option<u32>> {
    let mut root: Vec<Option<u32>> = vec![None; model.services.len()];
    let mut queue = VecDeque::new();
    for (i, service) in model.services.iter().enumerate() {
        if service.user_facing.as_ref().is_some_and(|u| u.value) {
            root[i] = Some(i as u32);
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        let node = graph.service_node(i);
        for (_, target, _) in graph.edges_of(node, Direction::Outgoing, EdgeKind::Call) {
            let target = graph.node_ref(target);
            if target.kind != NodeKind::Service {
                continue;
            }
            let t = target.index as usize;
            if root[t].is_none() {
                root[t] = root[i];
                queue.push_back(t);
            }
        }
    }
    root
}
