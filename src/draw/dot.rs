//! Graphviz DOT. Nodes get generated ids (`n3`) and quoted labels, so no name is read as a keyword
//! or as syntax; a team's nodes sit in a `cluster_` subgraph; findings become colours and
//! tooltips (which SVG viewers show on hover).

use super::{Edge, Legend, Line, Mark, Picture, Shape, palette};

/// Text inside a double-quoted DOT string: quotes and backslashes escaped (so `\N`, `\l` and
/// friends stay literal), `&` as an entity (Graphviz decodes entities in labels), control
/// characters as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
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
        .join("\\n")
}

fn tooltip(findings: &[super::Finding]) -> Option<String> {
    (!findings.is_empty()).then(|| {
        findings
            .iter()
            .map(|f| escape(&f.describe()))
            .collect::<Vec<_>>()
            .join("\\n")
    })
}

fn node_stmt(id: &str, lines: &[String], shape: Shape, mark: Mark, tip: Option<String>) -> String {
    let mut attrs = vec![format!("label=\"{}\"", label(lines))];
    attrs.push(
        match shape {
            Shape::Service => "shape=box, style=\"rounded,filled\"",
            Shape::Entrypoint => "shape=box, style=\"rounded,filled\", peripheries=2",
            Shape::External => "shape=hexagon",
            Shape::Channel => "shape=polygon, sides=4, skew=0.3",
            Shape::Datastore => "shape=cylinder",
        }
        .to_string(),
    );
    let look = mark.node_look();
    if let Some(stroke) = look.stroke {
        attrs.push(format!("color=\"{stroke}\""));
    }
    if let Some(fill) = look.fill {
        attrs.push(format!("fillcolor=\"{fill}\""));
    }
    if look.width > 1 {
        attrs.push(format!("penwidth={}", look.width));
    }
    if let Some(tip) = tip {
        attrs.push(format!("tooltip=\"{tip}\""));
    }
    format!("{id} [{}];", attrs.join(", "))
}

fn edge_stmt(from: &str, to: &str, edge: &Edge) -> String {
    let mut attrs = Vec::new();
    let text = edge.full_label();
    if !text.is_empty() {
        attrs.push(format!("label=\"{}\"", escape(&text)));
    }
    let look = edge.mark.edge_look();
    let mut width = look.width;
    match edge.line {
        Line::Sync => {}
        Line::Async => attrs.push("style=dashed".into()),
        Line::RequestReply => {
            attrs.push("style=dashed".into());
            width = width.max(2);
        }
        Line::DeadLetter => attrs.push("style=dotted".into()),
        Line::Data => attrs.push("arrowsize=0.7".into()),
    }
    match (look.stroke, edge.line) {
        (Some(stroke), _) => {
            attrs.push(format!("color=\"{stroke}\""));
            if edge.mark.severity.is_some() {
                attrs.push(format!("fontcolor=\"{stroke}\""));
            }
        }
        (None, Line::Data) => attrs.push(format!("color=\"{}\"", palette::DATA)),
        _ => {}
    }
    if width > 1 {
        attrs.push(format!("penwidth={width}"));
    }
    if let Some(tip) = tooltip(&edge.findings) {
        attrs.push(format!("tooltip=\"{tip}\""));
    }
    if attrs.is_empty() {
        format!("{from} -> {to};")
    } else {
        format!("{from} -> {to} [{}];", attrs.join(", "))
    }
}

/// Renders a picture as a DOT digraph, left to right.
pub fn render(picture: &Picture) -> String {
    let mut out = String::from("digraph topology {\n");
    let mut graph = vec![
        "rankdir=LR".to_string(),
        "fontname=\"Helvetica\"".into(),
        "fontsize=14".into(),
        "nodesep=0.3".into(),
        "ranksep=0.6".into(),
    ];
    if let Some(title) = &picture.legend.title {
        graph.push(format!("label=\"{}\"", escape(title)));
        graph.push("labelloc=t".into());
    }
    out.push_str(&format!("  graph [{}];\n", graph.join(", ")));
    out.push_str(
        "  node [fontname=\"Helvetica\", fontsize=11, style=filled, fillcolor=\"#ffffff\", color=\"#555555\"];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n");
    for (g, group) in picture.groups.iter().enumerate() {
        out.push_str(&format!("  subgraph cluster_g{g} {{\n"));
        out.push_str(&format!(
            "    graph [label=\"{}\", style=\"rounded,dashed\", color=\"#9e9e9e\", fontsize=12];\n",
            escape(group)
        ));
        for node in picture.nodes.iter().filter(|n| n.group == Some(g)) {
            out.push_str(&format!(
                "    {}\n",
                node_stmt(
                    &node.id,
                    &node.lines(),
                    node.shape,
                    node.mark,
                    tooltip(&node.findings)
                )
            ));
        }
        out.push_str("  }\n");
    }
    for node in picture.nodes.iter().filter(|n| n.group.is_none()) {
        out.push_str(&format!(
            "  {}\n",
            node_stmt(
                &node.id,
                &node.lines(),
                node.shape,
                node.mark,
                tooltip(&node.findings)
            )
        ));
    }
    for edge in &picture.edges {
        let (from, to) = (&picture.nodes[edge.from].id, &picture.nodes[edge.to].id);
        out.push_str(&format!("  {}\n", edge_stmt(from, to, edge)));
    }
    legend(&mut out, &picture.legend);
    out.push_str("}\n");
    out
}

/// The legend: a cluster with a sample of every shape and line, then the marks with their counts.
fn legend(out: &mut String, legend: &Legend) {
    out.push_str("  subgraph cluster_legend {\n");
    out.push_str(
        "    graph [label=\"Legend\", style=\"rounded\", color=\"#9e9e9e\", fontsize=12];\n",
    );
    let samples = super::legend_samples(legend);
    for (i, (text, shape, mark)) in samples.nodes.iter().enumerate() {
        out.push_str(&format!(
            "    {}\n",
            node_stmt(
                &format!("L{i}"),
                std::slice::from_ref(text),
                *shape,
                *mark,
                None
            )
        ));
    }
    for edge in &samples.edges {
        out.push_str(&format!(
            "    {}\n",
            edge_stmt(&format!("L{}", edge.from), &format!("L{}", edge.to), edge)
        ));
    }
    out.push_str("  }\n");
}
