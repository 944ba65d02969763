//! Hover and go to definition. The word under the cursor is found through the model's spans
//! (every node name and reference carries one), not by re-reading the YAML; rule codes and names
//! are words of the text (`rule: S102` in `allow`, a comment).

use std::fmt::Write;

use lsp_types as lsp;
use petgraph::Direction;
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::Analysis;
use crate::diagnostic::RuleMeta;
use crate::graph::{EdgeKind, Graph, SyncAnalysis};
use crate::model::{Model, Name, NodeKind, NodeRef, Spanned};
use crate::source::{FileId, Span};

use super::convert;
use super::workspace::Workspace;

/// Most names listed per relation, and most hops shown on each side of a chain.
const MAX_LISTED: usize = 20;
const MAX_HOPS: usize = 12;

/// A node name written in a file: where, which node, and whether it is the definition.
struct Symbol {
    span: Span,
    node: NodeRef,
}

/// Every reference to a node in the model: edge targets, `reply`, `message`, `broker`,
/// `dead_letter`, `messages`, idempotency stores, reads and writes.
fn references(model: &Model) -> Vec<&Spanned<Name>> {
    let mut out = Vec::new();
    for s in &model.services {
        s.for_each_reference(|_, _, name| out.push(name));
        out.extend(s.requests.iter().filter_map(|r| r.options.message.as_ref()));
        out.extend(s.publishes.iter().filter_map(|p| p.message.as_ref()));
        out.extend(s.consumes.iter().filter_map(|c| c.message.as_ref()));
    }
    for c in &model.channels {
        out.extend(&c.broker);
        out.extend(&c.messages);
        out.extend(&c.dead_letter);
    }
    out
}

fn covers(span: Span, file: FileId, offset: usize) -> bool {
    span.file == file && span.start as usize <= offset && offset <= span.end as usize
}

/// The node name (definition or reference) at an offset of a file.
fn symbol_at(model: &Model, file: FileId, offset: usize) -> Option<Symbol> {
    for node in model.nodes() {
        let span = model.node_name(node).span;
        if covers(span, file, offset) {
            return Some(Symbol { span, node });
        }
    }
    references(model)
        .into_iter()
        .filter(|r| covers(r.span, file, offset))
        .find_map(|r| {
            Some(Symbol {
                span: r.span,
                node: model.lookup(&r.value)?,
            })
        })
}

/// The word of rule-code characters around an offset.
fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = offset
        + text[offset..]
            .char_indices()
            .find(|(_, c)| !is_word(*c))
            .map_or(text.len() - offset, |(i, _)| i);
    (start < end).then_some((start, end))
}

fn rule_doc(meta: &RuleMeta) -> String {
    crate::docs::doc(meta).map_or_else(
        || {
            format!(
                "**{} {}** ({})\n\n{}",
                meta.code, meta.name, meta.severity, meta.summary
            )
        },
        str::to_string,
    )
}

/// Where the cursor is: the file and the byte offset in the latest analysis.
fn locate<'a>(
    ws: &'a Workspace,
    at: &lsp::TextDocumentPositionParams,
) -> Option<(&'a Analysis, FileId, usize)> {
    let analysis = ws.analysis()?;
    let id = ws.file_id(&at.text_document.uri)?;
    let file = analysis.loaded.sources.files.get(id.index())?;
    Some((analysis, id, convert::offset(file, at.position)))
}

fn markdown(value: String, range: Option<lsp::Range>) -> lsp::Hover {
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

/// Hover: what the graph knows of a node name, or the doc of a rule code or name, or the docs
/// of the rules whose diagnostics cover the cursor.
pub fn hover(ws: &Workspace, params: &lsp::HoverParams) -> Option<lsp::Hover> {
    let (analysis, id, offset) = locate(ws, &params.text_document_position_params)?;
    let model = &analysis.loaded.model;
    let file = analysis.loaded.sources.get(id);
    let here: Vec<&'static RuleMeta> = {
        let mut metas: Vec<&'static RuleMeta> = analysis
            .diagnostics
            .iter()
            .filter(|d| covers(d.span, id, offset))
            .filter_map(|d| crate::lints::find(d.code).map(|r| r.meta))
            .collect();
        metas.dedup_by_key(|m| m.code);
        metas
    };
    if let Some(symbol) = symbol_at(model, id, offset) {
        let mut text = node_info(ws, analysis, symbol.node);
        if !here.is_empty() {
            text.push_str("\n---\n");
            for meta in &here {
                let _ = writeln!(
                    text,
                    "- [{} {}]({}): {}",
                    meta.code,
                    meta.name,
                    crate::docs::url(meta),
                    meta.summary
                );
            }
        }
        return Some(markdown(text, Some(convert::range(file, symbol.span))));
    }
    if let Some((start, end)) = word_at(&file.text, offset)
        && let Some(rule) = crate::lints::find(&file.text[start..end])
    {
        let span = Span::new(id, start, end);
        return Some(markdown(
            rule_doc(rule.meta),
            Some(convert::range(file, span)),
        ));
    }
    if here.is_empty() {
        return None;
    }
    let docs: Vec<String> = here.iter().map(|m| rule_doc(m)).collect();
    Some(markdown(docs.join("\n---\n"), None))
}

/// Go to definition: from a reference (or a definition) to the node's definition.
pub fn definition(
    ws: &Workspace,
    params: &lsp::GotoDefinitionParams,
) -> Option<lsp::GotoDefinitionResponse> {
    let (analysis, id, offset) = locate(ws, &params.text_document_position_params)?;
    let model = &analysis.loaded.model;
    let symbol = symbol_at(model, id, offset)?;
    let span = model.node_name(symbol.node).span;
    let uri = ws.uri(span.file)?.clone();
    let range = convert::range(analysis.loaded.sources.get(span.file), span);
    Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location {
        uri,
        range,
    }))
}

/// The names of a relation, bounded.
fn list(names: &[&str]) -> String {
    let mut out: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > MAX_LISTED {
        out.push(format!("and {} more", names.len() - MAX_LISTED));
    }
    out.join(", ")
}

fn relation(direction: Direction, kind: EdgeKind) -> &'static str {
    use Direction::{Incoming, Outgoing};
    match (direction, kind) {
        (Outgoing, EdgeKind::Call) => "calls",
        (Incoming, EdgeKind::Call) => "called by",
        (Outgoing, EdgeKind::Request) => "sends requests to",
        (Incoming, EdgeKind::Request) => "requests from",
        (Outgoing, EdgeKind::Reply) => "carries replies to",
        (Incoming, EdgeKind::Reply) => "gets replies on",
        (Outgoing, EdgeKind::Publish) => "publishes to",
        (Incoming, EdgeKind::Publish) => "published by",
        (Outgoing, EdgeKind::Consume) => "consumed by",
        (Incoming, EdgeKind::Consume) => "consumes",
        (Outgoing, EdgeKind::Read) => "reads",
        (Incoming, EdgeKind::Read) => "read by",
        (Outgoing, EdgeKind::Write) => "writes",
        (Incoming, EdgeKind::Write) => "written by",
        (Outgoing, EdgeKind::DeadLetter) => "dead letters go to",
        (Incoming, EdgeKind::DeadLetter) => "dead letter of",
    }
}

/// What the graph knows of a node, as markdown.
fn node_info(ws: &Workspace, analysis: &Analysis, node: NodeRef) -> String {
    let model = &analysis.loaded.model;
    let name = model.node_name(node);
    let file = analysis.loaded.sources.get(name.span.file);
    let line = file.position(name.span.start).line;
    let mut text = format!(
        "**{} `{}`** · defined in `{}`, line {line}\n\n",
        node.kind.as_str(),
        name.value,
        ws.display(name.span.file)
    );
    let (owner, description) = describe(model, node);
    if let Some(owner) = owner {
        let _ = writeln!(text, "owner: `{owner}`  ");
    }
    if let Some(description) = description {
        let _ = writeln!(text, "{description}");
    }
    text.push('\n');

    let built;
    let graph = match &analysis.graph {
        Some(g) => g,
        None => {
            // Loading problems stop the rules, not the questions: the graph is built from what
            // did load, without the references that do not resolve.
            built = Graph::build(model);
            &built
        }
    };
    let n = graph.node(node);
    let mut relations: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for direction in [Direction::Outgoing, Direction::Incoming] {
        for e in graph.graph.edges_directed(n, direction) {
            let other = if direction == Direction::Outgoing {
                e.target()
            } else {
                e.source()
            };
            let label = relation(direction, e.weight().kind);
            let other = graph.name(model, other);
            match relations.iter_mut().find(|(l, _)| *l == label) {
                Some((_, names)) if names.contains(&other) => {}
                Some((_, names)) => names.push(other),
                None => relations.push((label, vec![other])),
            }
        }
    }
    relations.extend(model_relations(model, node));
    for (label, names) in &relations {
        let _ = writeln!(text, "- **{label}**: {}", list(names));
    }
    if relations.is_empty() {
        text.push_str("- no edges\n");
    }
    if matches!(node.kind, NodeKind::Service | NodeKind::External) {
        text.push('\n');
        text.push_str(&chain_through(graph, model, n));
    }
    text
}

fn describe(model: &Model, node: NodeRef) -> (Option<&str>, Option<&str>) {
    fn pick<'m>(
        o: &'m Option<Spanned<crate::model::Text>>,
        d: &'m crate::model::Rare<crate::model::Text>,
    ) -> (Option<&'m str>, Option<&'m str>) {
        (
            o.as_ref().map(|s| s.value.as_str()),
            d.as_ref().map(|s| s.value.as_str()),
        )
    }
    let i = node.index as usize;
    match node.kind {
        NodeKind::Service => pick(&model.services[i].owner, &model.services[i].description),
        NodeKind::External => pick(&model.externals[i].owner, &model.externals[i].description),
        NodeKind::Channel => pick(&model.channels[i].owner, &model.channels[i].description),
        NodeKind::Broker => (
            None,
            model.brokers[i].description.as_deref().map(|s| s.as_str()),
        ),
        NodeKind::Message => pick(&model.messages[i].owner, &model.messages[i].description),
        NodeKind::Datastore => pick(&model.datastores[i].owner, &model.datastores[i].description),
    }
}

/// Relations the model holds outside the graph: a channel's broker and messages, the channels
/// and services of a message, the channels of a broker.
fn model_relations<'m>(model: &'m Model, node: NodeRef) -> Vec<(&'static str, Vec<&'m str>)> {
    let i = node.index as usize;
    let mut out: Vec<(&'static str, Vec<&'m str>)> = Vec::new();
    let mut add = |label: &'static str, names: Vec<&'m str>| {
        if !names.is_empty() {
            out.push((label, names));
        }
    };
    match node.kind {
        NodeKind::Channel => {
            let c = &model.channels[i];
            add(
                "broker",
                c.broker.iter().map(|b| b.value.0.as_str()).collect(),
            );
            add(
                "carries",
                c.messages.iter().map(|m| m.value.0.as_str()).collect(),
            );
        }
        NodeKind::Message => {
            let name = &model.messages[i].name.value;
            let is = |m: &Option<Spanned<Name>>| m.as_ref().is_some_and(|m| m.value == *name);
            add(
                "carried by",
                model
                    .channels
                    .iter()
                    .filter(|c| c.messages.iter().any(|m| m.value == *name))
                    .map(|c| c.name.value.0.as_str())
                    .collect(),
            );
            add(
                "sent by",
                model
                    .services
                    .iter()
                    .filter(|s| {
                        s.publishes.iter().any(|p| is(&p.message))
                            || s.requests.iter().any(|r| is(&r.options.message))
                    })
                    .map(|s| s.name.value.0.as_str())
                    .collect(),
            );
            add(
                "received by",
                model
                    .services
                    .iter()
                    .filter(|s| s.consumes.iter().any(|c| is(&c.message)))
                    .map(|s| s.name.value.0.as_str())
                    .collect(),
            );
        }
        NodeKind::Broker => {
            let name = &model.brokers[i].name.value;
            add(
                "hosts",
                model
                    .channels
                    .iter()
                    .filter(|c| c.broker.as_ref().is_some_and(|b| b.value == *name))
                    .map(|c| c.name.value.0.as_str())
                    .collect(),
            );
        }
        _ => {}
    }
    out
}

/// For every component of the calls subgraph, the longest chain of calls reaching it and the
/// last call of that chain: one pass over the components sources first (the reverse of the
/// order [`SyncAnalysis`] keeps them in).
fn longest_into(sync: &SyncAnalysis) -> (Vec<u32>, Vec<Option<EdgeIndex>>) {
    let mut depth = vec![0u32; sync.len()];
    let mut last = vec![None; sync.len()];
    for id in (0..sync.len()).rev() {
        for &member in sync.members(id) {
            for &(e, target) in sync.calls_from(member) {
                let target = sync.component[target.index()] as usize;
                if target != id && depth[id] + 1 > depth[target] {
                    depth[target] = depth[id] + 1;
                    last[target] = Some(e);
                }
            }
        }
    }
    (depth, last)
}

/// The longest synchronous chain through a node, bounded on each side.
fn chain_through(graph: &Graph, model: &Model, node: NodeIndex) -> String {
    let sync = graph.sync();
    let (into, last) = longest_into(&sync);
    let component = sync.component[node.index()] as usize;
    let mut before = Vec::new();
    let mut at = component;
    while let Some(e) = last[at] {
        if before.len() >= MAX_HOPS {
            break;
        }
        before.push(e);
        let (source, _) = graph.graph.edge_endpoints(e).expect("edge of this graph");
        at = sync.component[source.index()] as usize;
    }
    before.reverse();
    let after = sync.chain_prefix(graph, node, MAX_HOPS);
    let total = into[component] + sync.depth_of(node);
    if total == 0 {
        return "no synchronous calls in or out\n".to_string();
    }
    let name = |n: NodeIndex| graph.name(model, n);
    let mut text = format!("**longest synchronous chain through it** ({total} calls): ");
    if into[component] as usize > before.len() {
        text.push_str("… → ");
    }
    let mut previous: Option<NodeIndex> = None;
    for e in before.iter().chain(&after) {
        let (source, target) = graph.graph.edge_endpoints(*e).expect("edge of this graph");
        match previous {
            None => text.push_str(&bold_if(name(source), source == node)),
            // The chain crosses a cycle: it leaves from another member of the component.
            Some(p) if p != source => {
                let _ = write!(text, " ⟳ {}", bold_if(name(source), source == node));
            }
            Some(_) => {}
        }
        let _ = write!(text, " → {}", bold_if(name(target), target == node));
        previous = Some(target);
    }
    if previous.is_none() {
        text.push_str(&bold_if(name(node), true));
    }
    if sync.depth_of(node) as usize > after.len() {
        text.push_str(" → …");
    }
    if sync.in_cycle(node) {
        text.push_str("\n\nit is part of a synchronous cycle");
    }
    text.push('\n');
    text
}

fn bold_if(name: &str, bold: bool) -> String {
    if bold {
        format!("**`{name}`**")
    } else {
        format!("`{name}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stop_at_yaml_punctuation() {
        let text = "  - rule: S102 # why\n";
        let at = text.find("S102").unwrap() + 2;
        let (s, e) = word_at(text, at).unwrap();
        assert_eq!(&text[s..e], "S102");
        assert_eq!(word_at(text, 1), None);
        let end = text.find(" # ").unwrap();
        assert_eq!(
            &text[word_at(text, end).map(|(s, e)| s..e).unwrap()],
            "S102"
        );
    }
}
