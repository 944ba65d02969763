//! The topology as a petgraph graph: typed nodes and edges that carry their model indices (and so
//! their spans), plus the linear-time queries the rules share.

use petgraph::Direction;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::model::{Model, NodeKind, NodeRef, Reference, Targets};
use crate::source::Span;

/// The kinds of edges, as TOPOLOGY.md lists them (plus `Reply`: a reply channel back to its
/// requester).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// `calls`: service → service or external, synchronous.
    Call,
    /// `requests`: service → request channel.
    Request,
    /// The reply of a request: reply channel → requester.
    Reply,
    /// `publishes`: service → channel.
    Publish,
    /// `consumes`: channel → service.
    Consume,
    /// `reads`: service → datastore.
    Read,
    /// `writes`: service → datastore.
    Write,
    /// `dead_letter`: channel → channel.
    DeadLetter,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Call => "calls",
            EdgeKind::Request => "requests",
            EdgeKind::Reply => "reply",
            EdgeKind::Publish => "publishes",
            EdgeKind::Consume => "consumes",
            EdgeKind::Read => "reads",
            EdgeKind::Write => "writes",
            EdgeKind::DeadLetter => "dead_letter",
        }
    }
}

/// An edge: its kind and where it is defined. `owner` is the service whose list holds it (the
/// channel for `DeadLetter`); `item` is the index in that list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub kind: EdgeKind,
    pub owner: u32,
    pub item: u32,
}

/// The topology graph. Node indices are laid out kind by kind, in model order, so that a
/// [`NodeRef`] and a [`NodeIndex`] convert by arithmetic.
#[derive(Debug, Clone)]
pub struct Graph {
    pub graph: DiGraph<NodeRef, Edge>,
    offsets: [u32; 6],
}

fn slot(kind: NodeKind) -> usize {
    match kind {
        NodeKind::Service => 0,
        NodeKind::External => 1,
        NodeKind::Channel => 2,
        NodeKind::Broker => 3,
        NodeKind::Message => 4,
        NodeKind::Datastore => 5,
    }
}

/// Services from this many on have their references looked up on two threads.
const PARALLEL_MIN_SERVICES: usize = 20_000;

/// What every reference of the services names, when no load handed it on: the lookups, a hash
/// probe and usually a cache miss each, are most of the graph's building; large topologies split
/// them over two threads.
fn service_targets(model: &Model) -> Targets {
    Targets::new(crate::parallel::in_halves(
        &model.services,
        PARALLEL_MIN_SERVICES,
        |services| vec![model.resolve(services, |_, _, _| {})],
    ))
}

/// The edge a service's reference makes, and whether it leaves the service (a consume and a
/// reply enter it); an idempotency store makes none.
fn edge_of(reference: Reference) -> Option<(EdgeKind, bool)> {
    Some(match reference {
        Reference::Call => (EdgeKind::Call, true),
        Reference::Request => (EdgeKind::Request, true),
        Reference::Reply => (EdgeKind::Reply, false),
        Reference::Publish => (EdgeKind::Publish, true),
        Reference::Consume => (EdgeKind::Consume, false),
        Reference::Read => (EdgeKind::Read, true),
        Reference::Write => (EdgeKind::Write, true),
        Reference::IdempotencyStore => return None,
    })
}

impl Graph {
    /// Builds the graph. References that do not resolve (already reported as T003) are left out.
    pub fn build(model: &Model) -> Graph {
        Graph::build_from(model, service_targets(model))
    }

    /// Builds the graph from what the model's references name, as its load found them
    /// ([`crate::load::Loaded::targets`]): at 100k services, looking every name up again was
    /// half of the graph's building.
    pub fn build_from(model: &Model, targets: Targets) -> Graph {
        let counts = NodeKind::ALL.map(|kind| model.count(kind));
        let nodes: usize = counts.iter().sum();
        // At most one edge per reference, and one dead letter per channel.
        let edges = targets.len() + model.channels.len();
        let mut graph = DiGraph::with_capacity(nodes, edges);
        let mut offsets = [0u32; 6];
        for (i, kind) in NodeKind::ALL.into_iter().enumerate() {
            offsets[i] = graph.node_count() as u32;
            for index in 0..counts[i] {
                graph.add_node(NodeRef {
                    kind,
                    index: index as u32,
                });
            }
        }
        let mut g = Graph { graph, offsets };
        let mut targets = targets.into_iter();
        for (si, service) in model.services.iter().enumerate() {
            let me = g.service_node(si);
            service.for_each_reference(|reference, item, _| {
                let target = targets.next().expect("a target for every reference");
                let Some((kind, leaves)) = edge_of(reference) else {
                    return;
                };
                if let Some(other) = target {
                    let other = g.node(other);
                    let (from, to) = if leaves { (me, other) } else { (other, me) };
                    let edge = Edge {
                        kind,
                        owner: si as u32,
                        item: item as u32,
                    };
                    g.graph.add_edge(from, to, edge);
                }
            });
        }
        for (ci, channel) in model.channels.iter().enumerate() {
            if channel.dead_letter_none() {
                continue;
            }
            if let Some(dl) = channel
                .dead_letter
                .as_ref()
                .and_then(|d| model.lookup(d).filter(|n| n.kind == NodeKind::Channel))
            {
                let from = g.node(NodeRef {
                    kind: NodeKind::Channel,
                    index: ci as u32,
                });
                let to = g.node(dl);
                g.graph.add_edge(
                    from,
                    to,
                    Edge {
                        kind: EdgeKind::DeadLetter,
                        owner: ci as u32,
                        item: 0,
                    },
                );
            }
        }
        g
    }

    pub fn node(&self, node: NodeRef) -> NodeIndex {
        NodeIndex::new((self.offsets[slot(node.kind)] + node.index) as usize)
    }

    pub fn node_ref(&self, index: NodeIndex) -> NodeRef {
        self.graph[index]
    }

    pub fn service_node(&self, index: usize) -> NodeIndex {
        self.node(NodeRef {
            kind: NodeKind::Service,
            index: index as u32,
        })
    }

    pub fn channel_node(&self, index: usize) -> NodeIndex {
        self.node(NodeRef {
            kind: NodeKind::Channel,
            index: index as u32,
        })
    }

    /// The edges of `kind` leaving (`Outgoing`) or entering (`Incoming`) a node.
    pub fn edges_of(
        &self,
        node: NodeIndex,
        direction: Direction,
        kind: EdgeKind,
    ) -> impl Iterator<Item = (EdgeIndex, NodeIndex, Edge)> + '_ {
        self.graph
            .edges_directed(node, direction)
            .filter(move |e| e.weight().kind == kind)
            .map(move |e| {
                let other = if direction == Direction::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                (e.id(), other, *e.weight())
            })
    }

    /// Services that consume a channel.
    pub fn consumers(&self, channel: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.edges_of(channel, Direction::Outgoing, EdgeKind::Consume)
            .map(|(_, n, _)| n)
    }

    /// Services that publish or send requests to a channel.
    pub fn producers(&self, channel: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph
            .edges_directed(channel, Direction::Incoming)
            .filter(|e| matches!(e.weight().kind, EdgeKind::Publish | EdgeKind::Request))
            .map(|e| e.source())
    }

    /// The span of the list item (or key) that defines an edge.
    pub fn edge_span(&self, model: &Model, edge: Edge) -> Span {
        let item = edge.item as usize;
        if edge.kind == EdgeKind::DeadLetter {
            let channel = &model.channels[edge.owner as usize];
            return channel
                .dead_letter
                .as_ref()
                .map_or(channel.name.span, |d| d.span);
        }
        let s = &model.services[edge.owner as usize];
        match edge.kind {
            EdgeKind::Call => s.calls[item].span,
            EdgeKind::Request => s.requests[item].span,
            EdgeKind::Reply => s.requests[item]
                .options
                .reply
                .as_ref()
                .map_or(s.requests[item].span, |r| r.span),
            EdgeKind::Publish => s.publishes[item].span,
            EdgeKind::Consume => s.consumes[item].span,
            EdgeKind::Read => s.reads[item].span,
            EdgeKind::Write => s.writes[item].span,
            EdgeKind::DeadLetter => unreachable!("handled above"),
        }
    }

    pub fn name<'m>(&self, model: &'m Model, node: NodeIndex) -> &'m str {
        &model.node_name(self.node_ref(node)).value
    }

    /// The synchronous subgraph's analysis: strongly connected components and longest chains.
    pub fn sync(&self) -> SyncAnalysis {
        SyncAnalysis::new(self)
    }
}

/// Strongly connected components of the `calls` subgraph, and for every node the longest chain of
/// calls leaving it, where a component counts as one node (calls inside a cycle add no depth).
///
/// It also keeps the calls of each node side by side (a compressed adjacency list), because every
/// synchronous rule walks them: reading a node's calls is then one contiguous slice instead of a
/// walk along petgraph's linked edge lists that skips the node's other edges.
#[derive(Debug, Clone)]
pub struct SyncAnalysis {
    /// Component id of each node (by node index).
    pub component: Vec<u32>,
    /// The members of every component, component after component.
    members: Vec<NodeIndex>,
    /// Where each component's members start in `members` (one more entry than components).
    member_start: Vec<u32>,
    /// The calls leaving every node, node after node, each node's in the order of its `calls`
    /// list: (call, callee).
    calls: Vec<(EdgeIndex, NodeIndex)>,
    /// Where each node's calls start in `calls` (one more entry than nodes).
    call_start: Vec<u32>,
    /// The component of each call's callee, in the order of `calls`: the rules that walk the
    /// condensation read it beside the call instead of looking the callee up.
    callee_component: Vec<u32>,
    /// The number of components that hold services and externals; see [`SyncAnalysis::callable`].
    callable: usize,
    /// Number of calls on the longest chain from each component that can hold calls (the
    /// others make none: see [`SyncAnalysis::callable`]).
    depth: Vec<u32>,
    /// The first call of that chain, if any.
    next: Vec<Option<EdgeIndex>>,
    /// The node the chain ends at, if it has a call.
    end: Vec<Option<NodeIndex>>,
}

/// A call as the synchronous rules walk it.
#[derive(Debug, Clone, Copy)]
pub struct SyncCall {
    /// Its place among all calls, node after node: per-call facts are read there.
    pub at: usize,
    pub edge: EdgeIndex,
    pub callee: NodeIndex,
    /// The callee's component.
    pub component: usize,
}

const UNVISITED: u32 = u32::MAX;

impl SyncAnalysis {
    fn new(g: &Graph) -> SyncAnalysis {
        let nodes = g.graph.node_count();
        // A counting sort of the call edges by caller, in one pass over petgraph's edge list
        // rather than a walk along each node's linked list of edges (which also skips the
        // node's other edges). Stable: a node's calls stay in the order they were added, which
        // is the order of the caller's list.
        let is_call = |e: &petgraph::graph::Edge<Edge>| e.weight.kind == EdgeKind::Call;
        let mut call_start = vec![0u32; nodes + 1];
        for e in g.graph.raw_edges().iter().filter(|e| is_call(e)) {
            call_start[e.source().index() + 1] += 1;
        }
        for i in 0..nodes {
            call_start[i + 1] += call_start[i];
        }
        let mut calls = vec![(EdgeIndex::end(), NodeIndex::end()); call_start[nodes] as usize];
        let mut place = call_start.clone();
        for (i, e) in g.graph.raw_edges().iter().enumerate() {
            if is_call(e) {
                let at = &mut place[e.source().index()];
                calls[*at as usize] = (EdgeIndex::new(i), e.target());
                *at += 1;
            }
        }
        let mut sync = SyncAnalysis {
            component: vec![0; nodes],
            members: Vec::with_capacity(nodes),
            member_start: vec![0],
            calls,
            call_start,
            callee_component: Vec::new(),
            callable: 0,
            depth: Vec::new(),
            next: Vec::new(),
            end: Vec::new(),
        };
        sync.tarjan();
        // Services and externals come first among the nodes (see `Graph`); the channels' start
        // is where they end.
        let callers = g.offsets[slot(NodeKind::Channel)] as usize;
        sync.callable = sync.component[..callers]
            .iter()
            .max()
            .map_or(0, |&c| c as usize + 1);
        sync.callee_component = sync
            .calls
            .iter()
            .map(|&(_, callee)| sync.component[callee.index()])
            .collect();
        sync.chains(g);
        sync
    }

    /// Tarjan's algorithm, iterative (a recursive search overflows the stack on a chain of 100k
    /// services). Components are numbered as they complete, which is sinks first: every callee's
    /// component comes before its callers'.
    fn tarjan(&mut self) {
        let nodes = self.component.len();
        let mut index = vec![UNVISITED; nodes];
        let mut low = vec![0u32; nodes];
        let mut on_stack = vec![false; nodes];
        let mut stack: Vec<u32> = Vec::new();
        // Frames of the depth-first search: a node and the position of its next call.
        let mut frames: Vec<(u32, u32)> = Vec::new();
        let mut counter = 0u32;
        for root in 0..nodes as u32 {
            if index[root as usize] != UNVISITED {
                continue;
            }
            index[root as usize] = counter;
            low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            frames.push((root, self.call_start[root as usize]));
            while let Some(frame) = frames.last_mut() {
                let v = frame.0 as usize;
                if frame.1 < self.call_start[v + 1] {
                    let w = self.calls[frame.1 as usize].1.index();
                    frame.1 += 1;
                    if index[w] == UNVISITED {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w as u32);
                        on_stack[w] = true;
                        frames.push((w as u32, self.call_start[w]));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                frames.pop();
                if let Some(&(u, _)) = frames.last() {
                    low[u as usize] = low[u as usize].min(low[v]);
                }
                if low[v] == index[v] {
                    let id = (self.member_start.len() - 1) as u32;
                    loop {
                        let w = stack.pop().expect("v is on the stack") as usize;
                        on_stack[w] = false;
                        self.component[w] = id;
                        self.members.push(NodeIndex::new(w));
                        if w == v {
                            break;
                        }
                    }
                    self.member_start.push(self.members.len() as u32);
                }
            }
        }
    }

    /// The longest chain from every component, callees first.
    fn chains(&mut self, g: &Graph) {
        let n = self.callable;
        let mut depth = vec![0u32; n];
        let mut next: Vec<Option<EdgeIndex>> = vec![None; n];
        for id in 0..n {
            for &member in self.members(id) {
                for call in self.calls_with(member) {
                    let (e, target) = (call.edge, call.component);
                    if target == id {
                        continue;
                    }
                    let d = depth[target] + 1;
                    if d > depth[id] || (d == depth[id] && next[id].is_none_or(|n| e < n)) {
                        depth[id] = d;
                        next[id] = Some(e);
                    }
                }
            }
        }
        let mut end: Vec<Option<NodeIndex>> = vec![None; n];
        for id in 0..n {
            if let Some(e) = next[id] {
                let (_, target) = g.graph.edge_endpoints(e).expect("edge of this graph");
                end[id] = end[self.component[target.index()] as usize].or(Some(target));
            }
        }
        self.depth = depth;
        self.next = next;
        self.end = end;
    }

    /// The number of components.
    pub fn len(&self) -> usize {
        self.member_start.len() - 1
    }

    /// The number of components that hold services and externals, which are numbered first:
    /// Tarjan's search starts from the nodes in index order, services and externals come first,
    /// and a call leads only to another service or external, so their components are complete
    /// before any other node is visited. Every other node is a component of its own without
    /// calls. The rules that walk the calls size their arrays by this, not by [`Self::len`]
    /// (channels, messages and datastores are about half of a large graph's nodes).
    pub fn callable(&self) -> usize {
        self.callable
    }

    /// Every component that holds services or externals, with its id, sinks first.
    pub fn callable_components(&self) -> impl Iterator<Item = (usize, &[NodeIndex])> {
        (0..self.callable).map(|id| (id, self.members(id)))
    }

    /// Whether the graph has no node at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The members of component `id`.
    pub fn members(&self, id: usize) -> &[NodeIndex] {
        &self.members[self.member_start[id] as usize..self.member_start[id + 1] as usize]
    }

    /// The calls leaving `node`: (call, callee).
    pub fn calls_from(&self, node: NodeIndex) -> &[(EdgeIndex, NodeIndex)] {
        &self.calls[self.call_range(node)]
    }

    /// Where the calls leaving `node` sit among all calls, node after node: arrays of per-call
    /// facts in that order are read with the same range.
    fn call_range(&self, node: NodeIndex) -> std::ops::Range<usize> {
        let i = node.index();
        self.call_start[i] as usize..self.call_start[i + 1] as usize
    }

    /// Every call, node after node: (call, callee).
    pub fn all_calls(&self) -> &[(EdgeIndex, NodeIndex)] {
        &self.calls
    }

    /// The calls leaving `node`, each with its place among all calls and its callee's component.
    pub fn calls_with(&self, node: NodeIndex) -> impl Iterator<Item = SyncCall> + '_ {
        let range = self.call_range(node);
        self.calls[range.clone()]
            .iter()
            .zip(&self.callee_component[range.clone()])
            .zip(range)
            .map(|((&(edge, callee), &component), at)| SyncCall {
                at,
                edge,
                callee,
                component: component as usize,
            })
    }

    pub fn depth_of(&self, node: NodeIndex) -> u32 {
        let c = self.component[node.index()] as usize;
        self.depth.get(c).copied().unwrap_or(0)
    }

    /// The calls of the longest chain from `node`, in order.
    pub fn chain(&self, g: &Graph, node: NodeIndex) -> Vec<EdgeIndex> {
        self.chain_prefix(g, node, usize::MAX)
    }

    /// The node where the longest chain from `node` ends (`None` when it makes no call).
    pub fn chain_end(&self, node: NodeIndex) -> Option<NodeIndex> {
        let c = self.component[node.index()] as usize;
        self.end.get(c).copied().flatten()
    }

    /// The first `max` calls of the longest chain from `node`: bounded work per query.
    pub fn chain_prefix(&self, g: &Graph, node: NodeIndex, max: usize) -> Vec<EdgeIndex> {
        let mut out = Vec::new();
        let mut at = self.component[node.index()] as usize;
        while let Some(edge) = self.next.get(at).copied().flatten() {
            if out.len() >= max {
                break;
            }
            out.push(edge);
            let (_, target) = g.graph.edge_endpoints(edge).expect("edge of this graph");
            at = self.component[target.index()] as usize;
        }
        out
    }

    /// Whether the node is in a cycle (a component of two or more, or a self-call).
    pub fn in_cycle(&self, node: NodeIndex) -> bool {
        self.members(self.component[node.index()] as usize).len() > 1
            || self.calls_from(node).iter().any(|&(_, to)| to == node)
    }
}

/// Every edge of the graph with its endpoints.
pub fn all_edges(g: &Graph) -> impl Iterator<Item = (NodeIndex, NodeIndex, Edge)> + '_ {
    g.graph
        .edge_references()
        .map(|e| (e.source(), e.target(), *e.weight()))
}
