//! S101 deep-sync-chain: a long chain of synchronous calls from an entrypoint without a budget.

use super::Context;
use super::sync_common::{SHOWN_HOPS, path_names};
use crate::diagnostic::{Diagnostic, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "S101",
    name: "deep-sync-chain",
    severity: Severity::Warning,
    summary: "a synchronous chain from a user-facing service is longer than `max-sync-depth` and has no budget",
};

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
        // Only the first hops are walked and shown, so that many entrypoints on one long chain
        // stay linear in total; the chain's end is known without walking.
        let chain = cx.sync().chain_prefix(cx.graph, node, SHOWN_HOPS);
        let mut names = path_names(cx, node, &chain, 0);
        if depth as usize > chain.len()
            && let Some(end) = cx.sync().chain_end(node)
        {
            let more = depth as usize - chain.len() - 1;
            names.push_str(&format!(
                " → … {more} more calls … → {}",
                cx.graph.name(cx.model, end)
            ));
        }
        let mut d = Diagnostic::new(
            &META,
            service.name.span,
            format!("{names}: {depth} synchronous calls, the limit is {limit}"),
        )
        .label(format!("entrypoint of a chain of {depth} synchronous calls"))
        .help(format!(
            "every hop adds latency and a way to fail while the user waits: make a hop asynchronous, or declare `budget: 800ms` on `{}` so the chain is checked against a latency budget",
            service.name.value
        ))
        .path(format!("services.{}", service.name.value));
        let hops = depth;
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
