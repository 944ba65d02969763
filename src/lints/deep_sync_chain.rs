//! S101 deep-sync-chain: a long chain of synchronous calls from an entrypoint without a budget.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::Graph;
use crate::model::Model;

use super::Context;

pub const META: RuleMeta = RuleMeta {
    code: "S101",
    name: "deep-sync-chain",
    severity: Severity::Warning,
    summary: "a synchronous chain from a user-facing service is longer than `max-sync-depth` and has no budget",
};

/// The names along a chain of calls, `a → b → c`. Where the chain passes through a cycle, the
/// member it leaves from is named too.
pub fn chain_names(
    model: &Model,
    g: &Graph,
    start: petgraph::graph::NodeIndex,
    edges: &[petgraph::graph::EdgeIndex],
) -> Vec<String> {
    let mut names = vec![g.name(model, start).to_string()];
    let mut at = start;
    for &e in edges {
        let (from, to) = g.graph.edge_endpoints(e).expect("edge of this graph");
        if from != at {
            names.push(format!("(cycle) {}", g.name(model, from)));
        }
        names.push(g.name(model, to).to_string());
        at = to;
    }
    names
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let limit = cx.settings.max_sync_depth;
    for (i, service) in cx.model.services.iter().enumerate() {
        if !service.user_facing.as_ref().is_some_and(|u| u.value) || service.budget.is_some() {
            continue;
        }
        let node = cx.graph.service_node(i);
        let depth = cx.sync().depth_of(node);
        if depth <= limit {
            continue;
        }
        let chain = cx.sync().chain(cx.graph, node);
        let names = chain_names(cx.model, cx.graph, node, &chain);
        let mut d = Diagnostic::new(
            &META,
            service.name.span,
            format!("{}: {depth} synchronous calls, the limit is {limit}", names.join(" → ")),
        )
        .label(format!("entrypoint of a chain of {depth} synchronous calls"))
        .help(format!(
            "every hop adds latency and a way to fail while the user waits: make a hop asynchronous, or declare `budget: 800ms` on `{}` so the chain is checked against a latency budget",
            service.name.value
        ))
        .path(format!("services.{}", service.name.value));
        let hops = chain.len();
        for (n, &e) in chain.iter().enumerate() {
            let edge = cx.graph.graph[e];
            let (from, to) = cx
                .graph
                .graph
                .edge_endpoints(e)
                .expect("edge of this graph");
            d = d.related(
                cx.graph.edge_span(cx.model, edge),
                format!(
                    "call {} of {hops}: {} → {}",
                    n + 1,
                    cx.graph.name(cx.model, from),
                    cx.graph.name(cx.model, to)
                ),
            );
        }
        out.push(d);
    }
}
