//! D402 shared-datastore: a datastore that several services write.

use petgraph::Direction;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::EdgeKind;
use crate::model::NodeKind;
use crate::model::NodeRef;

use super::Context;
use super::helpers::name_list;

pub const META: RuleMeta = RuleMeta {
    code: "D402",
    name: "shared-datastore",
    severity: Severity::Warning,
    summary: "a datastore is written by more than one service",
};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (i, store) in cx.model.datastores.iter().enumerate() {
        let node = cx.graph.node(NodeRef {
            kind: NodeKind::Datastore,
            index: i as u32,
        });
        let writes = || {
            cx.graph
                .edges_of(node, Direction::Incoming, EdgeKind::Write)
        };
        // Most datastores have one writer: they are passed over without a list or a name read.
        let mut owners = writes().map(|(_, _, edge)| edge.owner);
        let Some(first) = owners.next() else {
            continue;
        };
        if owners.all(|owner| owner == first) {
            continue;
        }
        let mut writes: Vec<_> = writes().map(|(_, _, edge)| edge).collect();
        // By writer name, not declaration order: the message reads the same however the
        // services are ordered or split between files.
        writes.sort_unstable_by_key(|e| (&cx.model.services[e.owner as usize].name.value, e.item));
        let mut writers: Vec<u32> = writes.iter().map(|e| e.owner).collect();
        writers.dedup();
        if writers.len() < 2 {
            continue;
        }
        let name = &store.name.value;
        let names: Vec<&str> = writers
            .iter()
            .map(|&s| cx.model.services[s as usize].name.value.0.as_str())
            .collect();
        let mut d = Diagnostic::new(
            &META,
            store.name.span,
            format!("datastore {name} is written by {}", name_list(&names)),
        )
        .label(format!("{} writers", writers.len()));
        for edge in writes {
            let owner = &cx.model.services[edge.owner as usize].name.value;
            d = d.related(
                cx.graph.edge_span(cx.model, edge),
                format!("written by {owner}"),
            );
        }
        out.push(
            d.help(format!(
                "no writer can change {name}'s schema or invariants alone: keep `writes: [{name}]` on one owning service, and have the others ask it with a call or a message it consumes"
            ))
            .path(format!("datastores.{name}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::helpers::run;

    #[test]
    fn reports_stores_with_two_writers_but_not_readers_or_repeats() {
        let found = run(
            check,
            "topolint: 1
services:
  a: { writes: [shared, own, own] }
  b: { writes: [shared], reads: [own] }
  c: { writes: [shared] }
datastores:
  shared: { kind: postgres }
  own: { kind: postgres }
",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "datastore shared is written by a, b and c"
        );
        assert_eq!(found[0].related.len(), 3);
        assert_eq!(found[0].path.as_deref(), Some("datastores.shared"));
    }
}
