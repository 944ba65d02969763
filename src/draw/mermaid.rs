//! Mermaid flowchart text. Nodes get generated ids (`n3`) and quoted labels, so no name is read as
//! a keyword or as syntax; marks become `classDef`s and `linkStyle`s, listed in order of first use.

use super::{Edge, Legend, Line, Look, Mark, Node, Picture, Shape, palette};
use crate::diagnostic::Severity;

/// A label's text inside double quotes: quotes, markup and the characters that start entities or
/// comments become Mermaid's `#code;` entities, control characters become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '#' | '&' | '<' | '>' | '`' | '|' | '\\' | '%' | '{' | '}' | '[' | ']' | ';' => {
                out.push_str(&format!("#{};", c as u32));
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn node_text(id: &str, shape: Shape, lines: &[String]) -> String {
    let text = label(lines);
    match shape {
        Shape::Service => format!("{id}[\"{text}\"]"),
        Shape::Entrypoint => format!("{id}([\"{text}\"])"),
        Shape::External => format!("{id}{{{{\"{text}\"}}}}"),
        Shape::Channel => format!("{id}[/\"{text}\"/]"),
        Shape::Datastore => format!("{id}[(\"{text}\")]"),
    }
}

fn arrow(line: Line) -> &'static str {
    match line {
        Line::Sync | Line::Data => "-->",
        Line::Async | Line::DeadLetter => "-.->",
        Line::RequestReply => "==>",
    }
}

/// Class names and `linkStyle`s, collected while the statements are written.
#[derive(Default)]
struct Styles {
    /// Class name, its definition, its nodes.
    classes: Vec<(String, String, Vec<String>)>,
    /// A style and the indices of the edges that have it.
    links: Vec<(String, Vec<usize>)>,
    edges: usize,
}

impl Styles {
    fn node(&mut self, id: &str, mark: Mark) {
        if mark.is_plain() {
            return;
        }
        let mut name = Vec::new();
        match mark.severity {
            Some(Severity::Error) => name.push("error"),
            Some(Severity::Warning) => name.push("warning"),
            _ => {}
        }
        if mark.path {
            name.push("path");
        }
        if mark.focus {
            name.push("focus");
        }
        let name = name.join("_");
        match self.classes.iter_mut().find(|(n, ..)| *n == name) {
            Some((.., members)) => members.push(id.to_string()),
            None => {
                let def = look_css(mark.node_look());
                self.classes.push((name, def, vec![id.to_string()]));
            }
        }
    }

    /// Counts an edge (Mermaid numbers them in order of appearance) and records its style.
    fn edge(&mut self, line: Line, mark: Mark) {
        let index = self.edges;
        self.edges += 1;
        let look = mark.edge_look();
        let mut parts = Vec::new();
        match (look.stroke, line) {
            (Some(stroke), _) => parts.push(format!("stroke:{stroke}")),
            (None, Line::Data) => parts.push(format!("stroke:{}", palette::DATA)),
            _ => {}
        }
        if look.width > 1 {
            parts.push(format!("stroke-width:{}px", look.width));
        }
        if line == Line::DeadLetter {
            parts.push("stroke-dasharray:2 4".to_string());
        }
        if let (Some(stroke), Some(_)) = (look.stroke, mark.severity) {
            parts.push(format!("color:{stroke}"));
        }
        if parts.is_empty() {
            return;
        }
        let style = parts.join(",");
        match self.links.iter_mut().find(|(s, _)| *s == style) {
            Some((_, list)) => list.push(index),
            None => self.links.push((style, vec![index])),
        }
    }

    fn write(&self, out: &mut String) {
        for (name, def, members) in &self.classes {
            out.push_str(&format!("  classDef {name} {def}\n"));
            out.push_str(&format!("  class {} {name}\n", members.join(",")));
        }
        for (style, list) in &self.links {
            let list: Vec<String> = list.iter().map(|i| i.to_string()).collect();
            out.push_str(&format!("  linkStyle {} {style}\n", list.join(",")));
        }
    }
}

fn look_css(look: Look) -> String {
    let mut parts = Vec::new();
    if let Some(fill) = look.fill {
        parts.push(format!("fill:{fill}"));
    }
    if let Some(stroke) = look.stroke {
        parts.push(format!("stroke:{stroke}"));
    }
    parts.push(format!("stroke-width:{}px", look.width));
    parts.join(",")
}

fn write_node(out: &mut String, styles: &mut Styles, indent: &str, node: &Node) {
    out.push_str(&format!(
        "{indent}{}\n",
        node_text(&node.id, node.shape, &node.lines())
    ));
    styles.node(&node.id, node.mark);
}

fn write_edge(out: &mut String, styles: &mut Styles, from: &str, to: &str, edge: &Edge) {
    let text = edge.full_label();
    let arrow = arrow(edge.line);
    if text.is_empty() {
        out.push_str(&format!("  {from} {arrow} {to}\n"));
    } else {
        out.push_str(&format!("  {from} {arrow}|\"{}\"| {to}\n", escape(&text)));
    }
    styles.edge(edge.line, edge.mark);
}

/// Renders a picture as a Mermaid flowchart, left to right.
pub fn render(picture: &Picture) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut styles = Styles::default();
    for (g, group) in picture.groups.iter().enumerate() {
        out.push_str(&format!("  subgraph g{g}[\"{}\"]\n", escape(group)));
        for node in picture.nodes.iter().filter(|n| n.group == Some(g)) {
            write_node(&mut out, &mut styles, "    ", node);
        }
        out.push_str("  end\n");
    }
    for node in picture.nodes.iter().filter(|n| n.group.is_none()) {
        write_node(&mut out, &mut styles, "  ", node);
    }
    for edge in &picture.edges {
        let (from, to) = (&picture.nodes[edge.from].id, &picture.nodes[edge.to].id);
        write_edge(&mut out, &mut styles, from, to, edge);
    }
    legend(&mut out, &mut styles, &picture.legend);
    styles.write(&mut out);
    out
}

/// The legend: a sample of every shape and line, then the marks with their counts.
fn legend(out: &mut String, styles: &mut Styles, legend: &Legend) {
    let title = match &legend.title {
        Some(t) => format!("Legend: {t}"),
        None => "Legend".to_string(),
    };
    out.push_str(&format!("  subgraph legend[\"{}\"]\n", escape(&title)));
    let samples = super::legend_samples(legend);
    for (i, sample) in samples.nodes.iter().enumerate() {
        let node = Node {
            id: format!("L{i}"),
            name: sample.0.clone(),
            detail: None,
            shape: sample.1,
            mark: sample.2,
            group: None,
            findings: Vec::new(),
        };
        write_node(out, styles, "    ", &node);
    }
    out.push_str("  end\n");
    for edge in &samples.edges {
        write_edge(
            out,
            styles,
            &format!("L{}", edge.from),
            &format!("L{}", edge.to),
            edge,
        );
    }
}
