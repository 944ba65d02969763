//! Pictures of the topology: services, externals, channels and datastores with their edges, the
//! findings marked on the nodes and edges they concern, and the longest synchronous chain (or a
//! synchronous cycle) highlighted as a path.
//!
//! [`picture`] decides what is drawn and how it is marked, in a format-neutral [`Picture`];
//! [`mermaid`] and [`dot`] only spell it. Everything is laid out in model order (node index, then
//! edge index), never in hash order, so the same topology always gives the same bytes.

pub mod dot;
pub mod mermaid;

use std::collections::{HashMap, VecDeque};
use std::fmt;

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::Analysis;
use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::{EdgeKind, Graph};
use crate::model::{Keyword, Model, NodeKind, NodeRef};
use crate::source::Span;

/// The output formats of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

/// What nodes may be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// One subgraph (cluster) per team `owner`.
    Owner,
}

/// What to draw and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    /// Draw only this node and its neighbourhood.
    pub focus: Option<String>,
    /// How many edges away from `focus` nodes are drawn (in both directions).
    pub depth: usize,
    pub group_by: Option<GroupBy>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: Format::Mermaid,
            focus: None,
            depth: 1,
            group_by: None,
        }
    }
}

/// Why nothing could be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawError {
    /// The topology did not load (T-coded problems); there is no graph to draw.
    NotLoaded,
    /// `--focus` names no node.
    UnknownFocus { name: String, hint: String },
    /// `--focus` names a broker or a message, which are not drawn as nodes.
    NotDrawn { name: String, kind: NodeKind },
}

impl fmt::Display for DrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrawError::NotLoaded => f.write_str(
                "the topology could not be loaded, so there is nothing to draw; `topolint check` shows why",
            ),
            DrawError::UnknownFocus { name, hint } => {
                write!(f, "--focus: no node is named `{name}`{hint}")
            }
            DrawError::NotDrawn { name, kind } => write!(
                f,
                "--focus: `{name}` is {} {}, which is not drawn; focus on a service, external, channel or datastore",
                kind.article(),
                kind.as_str()
            ),
        }
    }
}

impl std::error::Error for DrawError {}

/// Draws an analysed topology in a format.
pub fn draw(analysis: &Analysis, options: &Options) -> Result<String, DrawError> {
    let picture = picture(analysis, options)?;
    Ok(match options.format {
        Format::Mermaid => mermaid::render(&picture),
        Format::Dot => dot::render(&picture),
    })
}

/// What is drawn: nodes and edges in model order, with their marks.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Group labels (team owners), in order of first appearance.
    pub groups: Vec<String>,
    pub legend: Legend,
}

/// A drawn node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A generated identifier (`n12`, from the graph's node index): names are labels only, so no
    /// name can be misread as syntax.
    pub id: String,
    pub name: String,
    /// A second line: channel kind and broker, datastore kind, budget.
    pub detail: Option<String>,
    pub shape: Shape,
    pub mark: Mark,
    /// Index into [`Picture::groups`].
    pub group: Option<usize>,
    pub findings: Vec<Finding>,
}

impl Node {
    /// The label's lines: the name, the detail, the codes of the findings.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.name.clone()];
        lines.extend(self.detail.clone());
        if !self.findings.is_empty() {
            lines.push(codes(&self.findings));
        }
        lines
    }
}

/// A drawn edge: one or more graph edges of the same style between the same two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Indices into [`Picture::nodes`].
    pub from: usize,
    pub to: usize,
    pub line: Line,
    /// Protocol and timeout, message, `request`/`reply`, `reads`/`writes`; may be empty.
    pub label: String,
    pub mark: Mark,
    pub findings: Vec<Finding>,
}

impl Edge {
    /// The label with the codes of the findings after it.
    pub fn full_label(&self) -> String {
        let mut parts = Vec::new();
        if !self.label.is_empty() {
            parts.push(self.label.clone());
        }
        if !self.findings.is_empty() {
            parts.push(codes(&self.findings));
        }
        parts.join(" · ")
    }
}

fn codes(findings: &[Finding]) -> String {
    let mut codes: Vec<&str> = Vec::new();
    for f in findings {
        if !codes.contains(&f.code) {
            codes.push(f.code);
        }
    }
    codes.join(", ")
}

/// A finding drawn on a node or an edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    /// `S102 missing-timeout: call from storefront to recommendations has no timeout`.
    pub fn describe(&self) -> String {
        format!("{} {}: {}", self.code, self.name, self.message)
    }
}

/// The shapes of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    Service,
    /// A `user_facing` service.
    Entrypoint,
    External,
    Channel,
    Datastore,
}

/// The styles of edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    /// `calls`: solid.
    Sync,
    /// `publishes`, `consumes`: dashed.
    Async,
    /// `requests` and their replies: thick, labelled `request` / `reply`.
    RequestReply,
    /// `dead_letter`: dotted.
    DeadLetter,
    /// `reads`, `writes`: thin and grey.
    Data,
}

impl Line {
    fn of(kind: EdgeKind) -> Line {
        match kind {
            EdgeKind::Call => Line::Sync,
            EdgeKind::Publish | EdgeKind::Consume => Line::Async,
            EdgeKind::Request | EdgeKind::Reply => Line::RequestReply,
            EdgeKind::DeadLetter => Line::DeadLetter,
            EdgeKind::Read | EdgeKind::Write => Line::Data,
        }
    }
}

/// How a node or an edge stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Mark {
    /// The worst finding on it: `Error` (red) or `Warning` (amber); infos are not drawn.
    pub severity: Option<Severity>,
    /// On the highlighted chain or cycle.
    pub path: bool,
    /// The `--focus` node.
    pub focus: bool,
}

/// The colours of the marks, shared by both formats so that they look alike.
pub mod palette {
    pub const ERROR: &str = "#d62728";
    pub const ERROR_FILL: &str = "#fde2e1";
    pub const WARNING: &str = "#e69500";
    pub const WARNING_FILL: &str = "#fff3cd";
    pub const PATH: &str = "#1f6feb";
    pub const FOCUS_FILL: &str = "#dbeafe";
    pub const DATA: &str = "#888888";
}

/// The look of a marked node or edge; `None` fields keep the format's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub stroke: Option<&'static str>,
    pub fill: Option<&'static str>,
    /// Line width in pixels (points in DOT).
    pub width: u8,
}

impl Mark {
    pub fn is_plain(self) -> bool {
        self == Mark::default()
    }

    /// The look of a node with this mark.
    pub fn node_look(self) -> Look {
        let (stroke, fill) = match self.severity {
            Some(Severity::Error) => (Some(palette::ERROR), Some(palette::ERROR_FILL)),
            Some(Severity::Warning) => (Some(palette::WARNING), Some(palette::WARNING_FILL)),
            _ if self.path => (Some(palette::PATH), None),
            _ => (None, None),
        };
        let fill = fill.or(self.focus.then_some(palette::FOCUS_FILL));
        let width = if self.path {
            4
        } else if self.severity.is_some() || self.focus {
            2
        } else {
            1
        };
        Look {
            stroke,
            fill,
            width,
        }
    }

    /// The look of an edge with this mark.
    pub fn edge_look(self) -> Look {
        let stroke = match self.severity {
            Some(Severity::Error) => Some(palette::ERROR),
            Some(Severity::Warning) => Some(palette::WARNING),
            _ if self.path => Some(palette::PATH),
            _ => None,
        };
        Look {
            stroke,
            fill: None,
            width: if self.path {
                3
            } else if self.severity.is_some() {
                2
            } else {
                1
            },
        }
    }
}

/// What the legend explains besides shapes and lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Legend {
    /// The `system` name(s).
    pub title: Option<String>,
    /// Error and warning findings drawn on the picture.
    pub errors: usize,
    pub warnings: usize,
    /// Error and warning findings that concern nothing drawn (outside the focus, on a message with
    /// no channel, on an `allow` entry).
    pub elsewhere: usize,
    /// What the highlighted path is.
    pub path: Option<String>,
    /// `focus: orders, depth 1 (7 of 40 nodes)`.
    pub focus: Option<String>,
}

/// What the legend shows, in both formats: a sample of every shape and line, then the marks.
pub struct LegendSamples {
    /// Label, shape and mark of each sample node.
    pub nodes: Vec<(String, Shape, Mark)>,
    /// Sample edges; `from` and `to` index `nodes`.
    pub edges: Vec<Edge>,
}

pub fn legend_samples(legend: &Legend) -> LegendSamples {
    let plain = Mark::default();
    let mut nodes = vec![
        ("user-facing service".to_string(), Shape::Entrypoint, plain),
        ("service".to_string(), Shape::Service, plain),
        ("external".to_string(), Shape::External, plain),
        ("channel".to_string(), Shape::Channel, plain),
        ("dead-letter channel".to_string(), Shape::Channel, plain),
        ("datastore".to_string(), Shape::Datastore, plain),
    ];
    let edge = |from, to, line, label: &str| Edge {
        from,
        to,
        line,
        label: label.to_string(),
        mark: plain,
        findings: Vec::new(),
    };
    let edges = vec![
        edge(0, 1, Line::Sync, "sync call: protocol · timeout"),
        edge(1, 2, Line::Sync, ""),
        edge(1, 3, Line::Async, "publishes, consumes: message"),
        edge(1, 3, Line::RequestReply, "request, reply"),
        edge(3, 4, Line::DeadLetter, "dead letter"),
        edge(1, 5, Line::Data, "reads, writes"),
    ];
    let count = |n: usize| match n {
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    };
    let mark = |severity, path, focus| Mark {
        severity,
        path,
        focus,
    };
    nodes.push((
        format!("error: {}", count(legend.errors)),
        Shape::Service,
        mark(Some(Severity::Error), false, false),
    ));
    nodes.push((
        format!("warning: {}", count(legend.warnings)),
        Shape::Service,
        mark(Some(Severity::Warning), false, false),
    ));
    if let Some(path) = &legend.path {
        nodes.push((path.clone(), Shape::Service, mark(None, true, false)));
    }
    if let Some(focus) = &legend.focus {
        nodes.push((focus.clone(), Shape::Service, mark(None, false, true)));
    }
    if legend.elsewhere > 0 {
        nodes.push((
            format!(
                "{} not drawn here: see topolint check",
                count(legend.elsewhere)
            ),
            Shape::Service,
            plain,
        ));
    }
    LegendSamples { nodes, edges }
}

/// Decides what is drawn: which nodes (all, or `--focus`'s neighbourhood), how edges merge, what
/// each finding marks, which path is highlighted, and the groups.
pub fn picture(analysis: &Analysis, options: &Options) -> Result<Picture, DrawError> {
    let graph = analysis.graph.as_ref().ok_or(DrawError::NotLoaded)?;
    let model = &analysis.loaded.model;
    let count = graph.graph.node_count();

    let mut visible: Vec<bool> = (0..count)
        .map(|i| drawn(graph.node_ref(NodeIndex::new(i)).kind))
        .collect();
    let mut node_marks = vec![Mark::default(); count];
    let mut focus_text = None;
    if let Some(name) = &options.focus {
        let start = focus_node(model, graph, name)?;
        visible = neighbourhood(graph, start, options.depth);
        node_marks[start.index()].focus = true;
        let total = (0..count)
            .filter(|&i| drawn(graph.node_ref(NodeIndex::new(i)).kind))
            .count();
        let shown = visible.iter().filter(|v| **v).count();
        focus_text = Some(format!(
            "focus: {name}, depth {} ({shown} of {total} nodes)",
            options.depth
        ));
    }

    // Findings → the nodes and edges they concern.
    let locator = Locator::new(model, graph);
    let mut node_findings: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut edge_findings: Vec<Vec<usize>> = vec![Vec::new(); graph.graph.edge_count()];
    let (mut errors, mut warnings, mut elsewhere) = (0, 0, 0);
    for (di, d) in analysis.diagnostics.iter().enumerate() {
        if !matches!(d.severity, Severity::Error | Severity::Warning) {
            continue;
        }
        let (nodes, edges) = locator.locate(d);
        let mut shown = false;
        for n in nodes {
            if visible[n.index()] {
                push_unique(&mut node_findings[n.index()], di);
                shown = true;
            }
        }
        for e in edges {
            let (a, b) = graph.graph.edge_endpoints(e).expect("edge of this graph");
            if visible[a.index()] && visible[b.index()] {
                push_unique(&mut edge_findings[e.index()], di);
                shown = true;
            }
        }
        match (shown, d.severity) {
            (false, _) => elsewhere += 1,
            (true, Severity::Error) => errors += 1,
            (true, _) => warnings += 1,
        }
    }
    let finding = |di: &usize| {
        let d = &analysis.diagnostics[*di];
        Finding {
            code: d.code,
            name: d.name,
            severity: d.severity,
            message: d.message.clone(),
        }
    };
    let worst = |list: &[usize]| list.iter().map(|&i| analysis.diagnostics[i].severity).max();

    let highlight = highlight(model, graph);
    let mut edge_on_path = vec![false; graph.graph.edge_count()];
    if let Some(h) = &highlight {
        for n in &h.nodes {
            node_marks[n.index()].path = true;
        }
        for e in &h.edges {
            edge_on_path[e.index()] = true;
        }
    }

    // Nodes, in graph (= model) order.
    let mut position = vec![None; count];
    let mut nodes = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    for i in 0..count {
        if !visible[i] {
            continue;
        }
        let ix = NodeIndex::new(i);
        let node = graph.node_ref(ix);
        let group = match options.group_by {
            Some(GroupBy::Owner) => owner(model, node).map(|o| {
                *group_index.entry(o.to_string()).or_insert_with(|| {
                    groups.push(o.to_string());
                    groups.len() - 1
                })
            }),
            None => None,
        };
        let mut mark = node_marks[i];
        mark.severity = worst(&node_findings[i]);
        position[i] = Some(nodes.len());
        nodes.push(Node {
            id: format!("n{i}"),
            name: graph.name(model, ix).to_string(),
            detail: detail(model, node),
            shape: shape(model, node),
            mark,
            group,
            findings: node_findings[i].iter().map(finding).collect(),
        });
    }

    // Edges, in graph order; edges of one style between the same two nodes are drawn once.
    let mut edges: Vec<Edge> = Vec::new();
    let mut merged: HashMap<(usize, usize, Line), usize> = HashMap::new();
    let mut sources: Vec<Vec<usize>> = Vec::new();
    let mut labels: Vec<Vec<String>> = Vec::new();
    for e in graph.graph.edge_references() {
        let (Some(from), Some(to)) = (position[e.source().index()], position[e.target().index()])
        else {
            continue;
        };
        let weight = *e.weight();
        let line = Line::of(weight.kind);
        let at = *merged.entry((from, to, line)).or_insert_with(|| {
            edges.push(Edge {
                from,
                to,
                line,
                label: String::new(),
                mark: Mark::default(),
                findings: Vec::new(),
            });
            sources.push(Vec::new());
            labels.push(Vec::new());
            edges.len() - 1
        });
        let label = edge_label(model, weight);
        if !label.is_empty() && !labels[at].contains(&label) {
            labels[at].push(label);
        }
        for &di in &edge_findings[e.id().index()] {
            push_unique(&mut sources[at], di);
        }
        edges[at].mark.path |= edge_on_path[e.id().index()];
    }
    for (i, edge) in edges.iter_mut().enumerate() {
        edge.label = labels[i].join(", ");
        sources[i].sort_unstable();
        edge.mark.severity = worst(&sources[i]);
        edge.findings = sources[i].iter().map(finding).collect();
    }

    let mut titles: Vec<&str> = Vec::new();
    for (_, system) in &model.systems {
        if !titles.contains(&system.value.as_str()) {
            titles.push(&system.value);
        }
    }
    let legend = Legend {
        title: (!titles.is_empty()).then(|| titles.join(", ")),
        errors,
        warnings,
        elsewhere,
        path: highlight.map(|h| h.text),
        focus: focus_text,
    };
    Ok(Picture {
        nodes,
        edges,
        groups,
        legend,
    })
}

fn push_unique(list: &mut Vec<usize>, item: usize) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Brokers and messages are not nodes of the picture: a channel's label names its broker, and an
/// edge's label its message.
fn drawn(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Service | NodeKind::External | NodeKind::Channel | NodeKind::Datastore
    )
}

fn shape(model: &Model, node: NodeRef) -> Shape {
    let i = node.index as usize;
    match node.kind {
        NodeKind::Service
            if model.services[i]
                .user_facing
                .as_ref()
                .is_some_and(|u| u.value) =>
        {
            Shape::Entrypoint
        }
        NodeKind::Service => Shape::Service,
        NodeKind::External => Shape::External,
        NodeKind::Channel => Shape::Channel,
        _ => Shape::Datastore,
    }
}

fn detail(model: &Model, node: NodeRef) -> Option<String> {
    let i = node.index as usize;
    let parts: Vec<String> = match node.kind {
        NodeKind::Service => {
            let s = &model.services[i];
            s.budget
                .iter()
                .map(|b| format!("budget {}", b.value))
                .collect()
        }
        NodeKind::Channel => {
            let c = &model.channels[i];
            c.kind
                .iter()
                .map(|k| k.value.as_str().to_string())
                .chain(c.broker.iter().map(|b| b.value.to_string()))
                .collect()
        }
        NodeKind::Datastore => model.datastores[i]
            .kind
            .iter()
            .map(|k| k.value.to_string())
            .collect(),
        _ => Vec::new(),
    };
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn owner(model: &Model, node: NodeRef) -> Option<&str> {
    let i = node.index as usize;
    let owner = match node.kind {
        NodeKind::Service => &model.services[i].owner,
        NodeKind::External => &model.externals[i].owner,
        NodeKind::Channel => &model.channels[i].owner,
        NodeKind::Datastore => &model.datastores[i].owner,
        _ => return None,
    };
    owner.as_ref().map(|o| o.value.as_str())
}

/// Protocol and timeout of a call, `request` with its message and timeout, a published or
/// consumed message, `reads`/`writes`.
fn edge_label(model: &Model, edge: crate::graph::Edge) -> String {
    let item = edge.item as usize;
    let parts: Vec<String> = match edge.kind {
        EdgeKind::DeadLetter => vec!["dead letter".into()],
        EdgeKind::Read => vec!["reads".into()],
        EdgeKind::Write => vec!["writes".into()],
        EdgeKind::Reply => vec!["reply".into()],
        EdgeKind::Call => {
            let o = &model.services[edge.owner as usize].calls[item].options;
            o.protocol
                .iter()
                .map(|p| p.value.as_str().to_string())
                .chain(o.timeout.iter().map(|t| t.value.to_string()))
                .collect()
        }
        EdgeKind::Request => {
            let o = &model.services[edge.owner as usize].requests[item].options;
            std::iter::once("request".to_string())
                .chain(o.message.iter().map(|m| m.value.to_string()))
                .chain(o.timeout.iter().map(|t| t.value.to_string()))
                .collect()
        }
        EdgeKind::Publish => model.services[edge.owner as usize].publishes[item]
            .message
            .iter()
            .map(|m| m.value.to_string())
            .collect(),
        EdgeKind::Consume => model.services[edge.owner as usize].consumes[item]
            .message
            .iter()
            .map(|m| m.value.to_string())
            .collect(),
    };
    parts.join(" · ")
}

fn focus_node(model: &Model, graph: &Graph, name: &str) -> Result<NodeIndex, DrawError> {
    match model.lookup(name) {
        Some(node) if drawn(node.kind) => Ok(graph.node(node)),
        Some(node) => Err(DrawError::NotDrawn {
            name: name.to_string(),
            kind: node.kind,
        }),
        None => {
            // Candidates in model order, so that a tie always suggests the same name.
            let names = model
                .services
                .iter()
                .map(|s| &s.name)
                .chain(model.externals.iter().map(|e| &e.name))
                .chain(model.channels.iter().map(|c| &c.name))
                .chain(model.datastores.iter().map(|d| &d.name))
                .map(|n| n.value.0.as_str());
            Err(DrawError::UnknownFocus {
                name: name.to_string(),
                hint: crate::suggest::hint(name, names),
            })
        }
    }
}

/// The nodes at most `depth` edges away from `start`, following edges both ways.
fn neighbourhood(graph: &Graph, start: NodeIndex, depth: usize) -> Vec<bool> {
    let mut seen = vec![false; graph.graph.node_count()];
    seen[start.index()] = true;
    let mut queue = VecDeque::from([(start, 0)]);
    while let Some((node, d)) = queue.pop_front() {
        if d == depth {
            continue;
        }
        for next in graph.graph.neighbors_undirected(node) {
            if !seen[next.index()] {
                seen[next.index()] = true;
                queue.push_back((next, d + 1));
            }
        }
    }
    seen
}

/// The highlighted path.
struct Highlight {
    nodes: Vec<NodeIndex>,
    edges: Vec<EdgeIndex>,
    text: String,
}

/// A synchronous cycle if there is one (through the first service, in model order, that is in
/// one), else the longest synchronous chain from the user-facing service with the deepest chain
/// (any service when no user-facing one makes a call).
fn highlight(model: &Model, graph: &Graph) -> Option<Highlight> {
    let sync = graph.sync();
    let services = (0..model.services.len()).map(|i| graph.service_node(i));
    if let Some(start) = services.clone().find(|&n| sync.in_cycle(n)) {
        let edges = cycle_through(graph, &sync, start);
        let mut nodes = vec![start];
        nodes.extend(
            edges
                .iter()
                .map(|&e| graph.graph.edge_endpoints(e).expect("edge").1),
        );
        let text = format!(
            "synchronous cycle: {}",
            names_along(model, graph, &nodes, 6)
        );
        return Some(Highlight { nodes, edges, text });
    }
    let deepest = |candidates: &mut dyn Iterator<Item = NodeIndex>| {
        let mut best: Option<(u32, NodeIndex)> = None;
        for n in candidates {
            let d = sync.depth_of(n);
            if d > 0 && best.is_none_or(|(b, _)| d > b) {
                best = Some((d, n));
            }
        }
        best
    };
    let entrypoints = &mut services.clone().filter(|&n| {
        let i = graph.node_ref(n).index as usize;
        model.services[i]
            .user_facing
            .as_ref()
            .is_some_and(|u| u.value)
    });
    let (depth, start) = deepest(entrypoints).or_else(|| deepest(&mut services.clone()))?;
    let edges = sync.chain(graph, start);
    let mut nodes = vec![start];
    for &e in &edges {
        let (a, b) = graph.graph.edge_endpoints(e).expect("edge of this graph");
        push_unique_node(&mut nodes, a);
        push_unique_node(&mut nodes, b);
    }
    let calls = if depth == 1 { "call" } else { "calls" };
    let text = format!(
        "longest synchronous chain: {} ({depth} {calls})",
        names_along(model, graph, &nodes, 6)
    );
    Some(Highlight { nodes, edges, text })
}

fn push_unique_node(list: &mut Vec<NodeIndex>, node: NodeIndex) {
    if list.last() != Some(&node) {
        list.push(node);
    }
}

/// `a → b → c`, shortened to its first and last names past `max`.
fn names_along(model: &Model, graph: &Graph, nodes: &[NodeIndex], max: usize) -> String {
    let name = |n: &NodeIndex| graph.name(model, *n).to_string();
    if nodes.len() <= max.max(4) {
        return nodes.iter().map(name).collect::<Vec<_>>().join(" → ");
    }
    let head: Vec<String> = nodes[..3].iter().map(name).collect();
    let skipped = nodes.len() - 4;
    format!(
        "{} → … {skipped} more … → {}",
        head.join(" → "),
        name(&nodes[nodes.len() - 1])
    )
}

/// The calls of a shortest cycle from `start` back to itself, inside its component.
fn cycle_through(
    graph: &Graph,
    sync: &crate::graph::SyncAnalysis,
    start: NodeIndex,
) -> Vec<EdgeIndex> {
    let component = sync.component[start.index()];
    let mut parent: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut calls: Vec<_> = graph
            .graph
            .edges_directed(node, petgraph::Direction::Outgoing)
            .filter(|e| e.weight().kind == EdgeKind::Call)
            .map(|e| (e.id(), e.target()))
            .collect();
        // petgraph lists a node's edges newest first; model order reads better.
        calls.sort_unstable();
        for (edge, target) in calls {
            if target == start {
                let mut path = vec![edge];
                let mut at = node;
                while at != start {
                    let e = parent[&at];
                    path.push(e);
                    at = graph.graph.edge_endpoints(e).expect("edge").0;
                }
                path.reverse();
                return path;
            }
            if sync.component[target.index()] == component && !parent.contains_key(&target) {
                parent.insert(target, edge);
                queue.push_back(target);
            }
        }
    }
    Vec::new()
}

/// Maps a diagnostic to the nodes and edges it concerns: its `path`, then its primary and related
/// spans compared with node names and edge items. A message or a broker (not drawn) stands for
/// the channels that carry or host it and the edges that name the message.
struct Locator<'a> {
    model: &'a Model,
    graph: &'a Graph,
    /// Edge item spans, sorted by file and start; a reply's span sits inside its request's.
    edge_spans: Vec<(Span, EdgeIndex)>,
    /// Lookups only, never iterated.
    names: HashMap<Span, NodeIndex>,
    edges_by_item: HashMap<(EdgeKind, u32, u32), EdgeIndex>,
    /// Message or broker name → the channels that carry or host it, in model order.
    carriers: HashMap<&'a str, Vec<NodeIndex>>,
    /// Message name → the edges that name it, in graph order.
    message_edges: HashMap<&'a str, Vec<EdgeIndex>>,
}

impl<'a> Locator<'a> {
    fn new(model: &'a Model, graph: &'a Graph) -> Locator<'a> {
        let mut edge_spans = Vec::with_capacity(graph.graph.edge_count());
        let mut edges_by_item = HashMap::with_capacity(graph.graph.edge_count());
        let mut message_edges: HashMap<&str, Vec<EdgeIndex>> = HashMap::new();
        for e in graph.graph.edge_references() {
            let w = *e.weight();
            edge_spans.push((graph.edge_span(model, w), e.id()));
            edges_by_item.insert((w.kind, w.owner, w.item), e.id());
            if let Some(message) = edge_message(model, w) {
                message_edges.entry(message).or_default().push(e.id());
            }
        }
        let mut carriers: HashMap<&str, Vec<NodeIndex>> = HashMap::new();
        for (ci, c) in model.channels.iter().enumerate() {
            let node = graph.channel_node(ci);
            for name in c.messages.iter().chain(c.broker.iter()) {
                let list = carriers.entry(name.value.0.as_str()).or_default();
                if !list.contains(&node) {
                    list.push(node);
                }
            }
        }
        edge_spans.sort_by_key(|(s, e)| (s.file, s.start, std::cmp::Reverse(s.end), *e));
        let names = (0..graph.graph.node_count())
            .map(|i| {
                let ix = NodeIndex::new(i);
                (model.node_name(graph.node_ref(ix)).span, ix)
            })
            .collect();
        Locator {
            model,
            graph,
            edge_spans,
            names,
            edges_by_item,
            carriers,
            message_edges,
        }
    }

    fn locate(&self, d: &Diagnostic) -> (Vec<NodeIndex>, Vec<EdgeIndex>) {
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        if let Some(path) = &d.path {
            self.by_path(path, &mut nodes, &mut edges);
        }
        for span in std::iter::once(d.span).chain(d.related.iter().map(|r| r.span)) {
            if let Some(&node) = self.names.get(&span) {
                self.node(node, &mut nodes, &mut edges);
            } else if let Some(edge) = self.edge_at(span) {
                push_unique_edge(&mut edges, edge);
            }
        }
        (nodes, edges)
    }

    /// The innermost edge item that contains the span.
    fn edge_at(&self, span: Span) -> Option<EdgeIndex> {
        let after = self
            .edge_spans
            .partition_point(|(s, _)| (s.file, s.start) <= (span.file, span.start));
        // Items nest at most two deep (a reply inside its request), so a few steps back suffice.
        self.edge_spans[..after]
            .iter()
            .rev()
            .take(3)
            .find(|(s, _)| s.file == span.file && s.start <= span.start && span.end <= s.end)
            .map(|(_, e)| *e)
    }

    fn node(&self, node: NodeIndex, nodes: &mut Vec<NodeIndex>, edges: &mut Vec<EdgeIndex>) {
        let node_ref = self.graph.node_ref(node);
        let name = &self.model.node_name(node_ref).value;
        match node_ref.kind {
            NodeKind::Message | NodeKind::Broker => {
                for &channel in self.carriers.get(name.0.as_str()).into_iter().flatten() {
                    if !nodes.contains(&channel) {
                        nodes.push(channel);
                    }
                }
                for &edge in self
                    .message_edges
                    .get(name.0.as_str())
                    .into_iter()
                    .flatten()
                {
                    push_unique_edge(edges, edge);
                }
            }
            _ => {
                if !nodes.contains(&node) {
                    nodes.push(node);
                }
            }
        }
    }

    /// `services.web.calls[0]` → that call; `channels.x.dead_letter` → the dead-letter route;
    /// `services.web`, `services.web.budget` → the node.
    fn by_path(&self, path: &str, nodes: &mut Vec<NodeIndex>, edges: &mut Vec<EdgeIndex>) {
        let Some((section, rest)) = path.split_once('.') else {
            return;
        };
        let kind = match section {
            "services" => NodeKind::Service,
            "externals" => NodeKind::External,
            "channels" => NodeKind::Channel,
            "brokers" => NodeKind::Broker,
            "messages" => NodeKind::Message,
            "datastores" => NodeKind::Datastore,
            _ => return,
        };
        // Names may hold dots: try the longest prefix that names a node of the section.
        let cuts = std::iter::once(rest.len()).chain(rest.rmatch_indices('.').map(|(i, _)| i));
        for cut in cuts {
            let (name, field) = (&rest[..cut], rest.get(cut + 1..).unwrap_or(""));
            let Some(node) = self.model.lookup(name).filter(|n| n.kind == kind) else {
                continue;
            };
            if let Some(edge) = self.edge_by_field(node, field) {
                push_unique_edge(edges, edge);
            } else {
                self.node(self.graph.node(node), nodes, edges);
            }
            return;
        }
    }

    fn edge_by_field(&self, node: NodeRef, field: &str) -> Option<EdgeIndex> {
        let head = field.split('.').next().unwrap_or("");
        if node.kind == NodeKind::Channel && head == "dead_letter" {
            return self
                .edges_by_item
                .get(&(EdgeKind::DeadLetter, node.index, 0))
                .copied();
        }
        if node.kind != NodeKind::Service {
            return None;
        }
        let (list, index) = head.strip_suffix(']')?.split_once('[')?;
        let kind = match list {
            "calls" => EdgeKind::Call,
            "requests" => EdgeKind::Request,
            "publishes" => EdgeKind::Publish,
            "consumes" => EdgeKind::Consume,
            "reads" => EdgeKind::Read,
            "writes" => EdgeKind::Write,
            _ => return None,
        };
        let item: u32 = index.parse().ok()?;
        self.edges_by_item.get(&(kind, node.index, item)).copied()
    }
}

fn push_unique_edge(list: &mut Vec<EdgeIndex>, edge: EdgeIndex) {
    if !list.contains(&edge) {
        list.push(edge);
    }
}

/// The message an edge names, if any.
fn edge_message(model: &Model, edge: crate::graph::Edge) -> Option<&str> {
    let item = edge.item as usize;
    let service = model.services.get(edge.owner as usize)?;
    let message = match edge.kind {
        EdgeKind::Publish => &service.publishes[item].message,
        EdgeKind::Consume => &service.consumes[item].message,
        EdgeKind::Request => &service.requests[item].options.message,
        _ => return None,
    };
    message.as_ref().map(|m| m.value.0.as_str())
}

#[cfg(test)]
mod tests;
