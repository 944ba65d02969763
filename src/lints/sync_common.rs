//! What the synchronous rules (S103–S110) share: a call's attempts, a node's declared latency,
//! the path of a call item, and a bounded way to show a path of calls in a message.

use petgraph::graph::{EdgeIndex, NodeIndex};

use crate::graph::Edge;
use crate::model::{Call, CallOptions, Duration, Latency, NodeKind};

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

/// A call's place in an order that does not depend on where the services are declared: its
/// caller's name, then its place in the caller's list. Ties between paths are broken by it, so
/// that reordering the services or moving them between files changes no finding.
pub fn call_key<'m>(cx: &Context<'m>, e: EdgeIndex) -> (&'m str, u32) {
    let edge = cx.graph.graph[e];
    (
        &cx.model.services[edge.owner as usize].name.value,
        edge.item,
    )
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
    use super::human;

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
