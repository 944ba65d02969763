//! The identity of what a finding is about, stable under edits elsewhere in the topology.
//!
//! A diagnostic's `path` names list items by index (`services.web.calls[2]`), as `allow: at:`
//! accepts it; inserting a call above shifts the index. Baselines and SARIF fingerprints need a
//! name that survives that, so the identity names an item by what it points at instead:
//! `services.web.calls[to=orders]`. Two items of one list that point at the same node are told
//! apart by their order among themselves (`publishes[to=events#2]`), which only an edit of those
//! very items changes.

use crate::diagnostic::Diagnostic;
use crate::graph::Edge;
use crate::model::{Model, Service};

/// Fills `identity` from `path` for every diagnostic that has a path and no identity yet.
pub fn fill(model: &Model, diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        if let (Some(path), None) = (&d.path, &d.identity) {
            d.identity = Some(of_path(model, path));
        }
    }
}

/// Places a finding at an item of a service's list: its path and, at once, its identity. Every
/// rule that reports a list item has the service at hand; [`fill`] would find it again by name,
/// a lookup and a cache miss per finding (a third of S105's time on a large topology).
pub trait AtItem: Sized {
    /// Placed at item `index` of `service`'s list `list` (`services.web.calls[2]`).
    fn at_item(self, service: &Service, list: &str, index: usize) -> Self;

    /// Placed at the `calls` item that made call edge `edge`.
    fn at_call(self, model: &Model, edge: Edge) -> Self {
        let service = &model.services[edge.owner as usize];
        self.at_item(service, "calls", edge.item as usize)
    }
}

impl AtItem for Diagnostic {
    fn at_item(self, service: &Service, list: &str, index: usize) -> Diagnostic {
        let mut number = itoa::Buffer::new();
        let d = self.path(item_path(service, list, &[number.format(index)]));
        match item_identity(service, list, index) {
            Some(identity) => d.identity(identity),
            None => d,
        }
    }
}

/// `services.<name>.<list>[<key>]`, the key given in pieces. Joined in one allocation: every
/// finding of a list item comes here twice (17k at 100k services), and `format!`'s machinery
/// cost more than the copying.
fn item_path(service: &Service, list: &str, key: &[&str]) -> String {
    let head = ["services.", &service.name.value, ".", list, "["];
    let pieces = || head.iter().chain(key).chain(&["]"]);
    let mut path = String::with_capacity(pieces().map(|p| p.len()).sum());
    pieces().for_each(|p| path.push_str(p));
    path
}

/// `services.<name>.<list>[<key>]` for item `index` of `service`'s list.
fn item_identity(service: &Service, list: &str, index: usize) -> Option<String> {
    let (prefix, target, repeat) = item_key(service, list, index)?;
    let mut number = itoa::Buffer::new();
    let key = match repeat {
        1 => [prefix, target, "", ""],
        n => [prefix, target, "#", number.format(n)],
    };
    Some(item_path(service, list, &key))
}

/// The identity of a path: list indexes under `services.<name>` become the item's target; any
/// other path is already free of indexes and is its own identity.
pub fn of_path(model: &Model, path: &str) -> String {
    keyed(model, path).unwrap_or_else(|| path.to_string())
}

fn keyed(model: &Model, path: &str) -> Option<String> {
    let rest = path.strip_prefix("services.")?;
    // Names may hold dots but never `[`: the list is the segment just before the first `[`.
    let open = rest.find('[')?;
    let dot = rest[..open].rfind('.')?;
    let (name, list) = (&rest[..dot], &rest[dot + 1..open]);
    let close = open + rest[open..].find(']')?;
    let index: usize = rest[open + 1..close].parse().ok()?;
    let tail = &rest[close + 1..];
    let mut identity = item_identity(model.service(name)?, list, index)?;
    identity.push_str(tail);
    Some(identity)
}

/// The key of item `index` of a list in pieces: `to=` and `orders` for `to: orders` (`from=` for
/// a consume, nothing before a datastore's name), and the item's rank n among the list's items
/// with that target (the key reads `#n` when n > 1).
fn item_key<'s>(
    service: &'s Service,
    list: &str,
    index: usize,
) -> Option<(&'static str, &'s str, usize)> {
    let (prefix, (target, n)) = match list {
        "calls" => ("to=", key_of(&service.calls, index, |c| &c.to.value)?),
        "requests" => ("to=", key_of(&service.requests, index, |r| &r.to.value)?),
        "publishes" => ("to=", key_of(&service.publishes, index, |p| &p.to.value)?),
        "consumes" => (
            "from=",
            key_of(&service.consumes, index, |c| &c.from.value)?,
        ),
        "reads" => ("", key_of(&service.reads, index, |s| &s.value)?),
        "writes" => ("", key_of(&service.writes, index, |s| &s.value)?),
        _ => return None,
    };
    Some((prefix, target, n))
}

/// Item `index`'s target, and how many items up to it have that target.
fn key_of<'s, T>(
    items: &'s [T],
    index: usize,
    target: impl Fn(&'s T) -> &'s str,
) -> Option<(&'s str, usize)> {
    let name = target(items.get(index)?);
    let before = items[..index].iter().filter(|i| target(i) == name).count();
    Some((name, before + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{self, Limits};
    use crate::source::Sources;
    use std::path::PathBuf;

    fn model(text: &str) -> Model {
        let mut sources = Sources::default();
        let (file, problem) = load::from_bytes(
            PathBuf::from("t.topology.yaml"),
            "t.topology.yaml".into(),
            text.as_bytes().to_vec(),
        );
        assert!(problem.is_none());
        sources.add(file);
        let loaded = load::load_sources(sources, &[], &Limits::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.model
    }

    const TEXT: &str = "topolint: 1
services:
  web.v2:
    calls:
      - { to: orders, timeout: 1s }
      - { to: pay, timeout: 1s }
      - { to: orders, timeout: 2s }
    publishes:
      - { to: events, message: Placed }
    reads: [db]
  orders: {}
  pay: {}
channels:
  events: { kind: stream, dead_letter: none, reason: replayable }
messages:
  Placed: { version: 1 }
datastores:
  db: { kind: postgres }
";

    #[test]
    fn an_item_placed_by_its_rule_has_the_identity_its_path_gives() {
        let m = model(TEXT);
        let web = &m.services[0];
        for (list, len) in [("calls", 3), ("publishes", 1), ("reads", 1)] {
            for i in 0..len {
                let d = Diagnostic::new(&crate::lints::meta::UNUSED_ALLOW, web.name.span, "x");
                let d = d.at_item(web, list, i);
                let path = d.path.clone().expect("a path");
                assert_eq!(path, format!("services.web.v2.{list}[{i}]"));
                assert_eq!(d.identity, Some(of_path(&m, &path)));
            }
        }
        let mut placed = vec![
            Diagnostic::new(&crate::lints::meta::UNUSED_ALLOW, web.name.span, "x")
                .at_item(web, "calls", 2),
        ];
        fill(&m, &mut placed);
        assert_eq!(
            placed[0].identity.as_deref(),
            Some("services.web.v2.calls[to=orders#2]")
        );
    }

    #[test]
    fn indexes_become_targets() {
        let m = model(TEXT);
        assert_eq!(
            of_path(&m, "services.web.v2.calls[1]"),
            "services.web.v2.calls[to=pay]"
        );
        assert_eq!(
            of_path(&m, "services.web.v2.calls[0]"),
            "services.web.v2.calls[to=orders]"
        );
        assert_eq!(
            of_path(&m, "services.web.v2.calls[2]"),
            "services.web.v2.calls[to=orders#2]"
        );
        assert_eq!(
            of_path(&m, "services.web.v2.publishes[0]"),
            "services.web.v2.publishes[to=events]"
        );
        assert_eq!(
            of_path(&m, "services.web.v2.reads[0].x"),
            "services.web.v2.reads[db].x"
        );
    }

    #[test]
    fn other_paths_are_their_own_identity() {
        let m = model(TEXT);
        for path in [
            "services.web.v2",
            "channels.events",
            "services.web.v2.calls[9]",
            "services.nope.calls[0]",
            "services.web.v2.calls[x]",
        ] {
            assert_eq!(of_path(&m, path), path);
        }
    }
}
