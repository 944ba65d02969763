//! Merging the files' documents into one model: the shared namespace (T004 for a name defined
//! twice) and every reference checked against it (T003, with "did you mean").

use crate::diagnostic::Diagnostic;
use crate::lints::meta;
use crate::model::*;
use crate::source::{FileId, Span};
use crate::suggest;

use super::Limits;

/// Joins parsed documents into one model, registers its names and checks its references; gives
/// what the references name too (`None` when the model has too many nodes to index).
pub fn merge(
    documents: Vec<(FileId, Document)>,
    diagnostics: &mut Vec<Diagnostic>,
    limits: &Limits,
) -> (Model, Option<Targets>) {
    let mut model = Model::default();
    let mut operations_span: Option<Span> = None;
    for (file, doc) in documents {
        if let Some(system) = doc.system {
            model.systems.push((file, system));
        }
        if let Some(ops) = doc.operations {
            let span = doc.operations_span.unwrap_or(ops.span);
            match operations_span {
                Some(first) => diagnostics.push(
                    Diagnostic::new(
                        &meta::DUPLICATE_NAME,
                        span,
                        "`operations` is declared twice".to_string(),
                    )
                    .label("declared again here")
                    .related(first, "first declared here")
                    .help("declare `operations` in one file only"),
                ),
                None => {
                    operations_span = Some(span);
                    model.operations = Some(ops);
                }
            }
        }
        append(&mut model.services, doc.services);
        append(&mut model.externals, doc.externals);
        append(&mut model.channels, doc.channels);
        append(&mut model.brokers, doc.brokers);
        append(&mut model.messages, doc.messages);
        append(&mut model.datastores, doc.datastores);
        append(&mut model.allow, doc.allow);
    }
    let total = model.services.len()
        + model.externals.len()
        + model.channels.len()
        + model.brokers.len()
        + model.messages.len()
        + model.datastores.len();
    if total > limits.max_nodes {
        let span = model
            .services
            .first()
            .map(|s| s.name.span)
            .unwrap_or_default();
        diagnostics.push(Diagnostic::new(
            &meta::YAML_SYNTAX,
            span,
            format!(
                "the topology has {total} nodes, over the limit of {}; raise it with --max-nodes",
                limits.max_nodes
            ),
        ));
        return (model, None);
    }
    register_names(&mut model, diagnostics);
    let targets = check_references(&model, diagnostics);
    (model, Some(targets))
}

fn register_names(model: &mut Model, diagnostics: &mut Vec<Diagnostic>) {
    // Names are registered in file order so that "first defined" is the earlier definition.
    // Each name is hashed here, where its place is read.
    let mut all: Vec<(Span, NodeRef, u64)> = model
        .nodes()
        .map(|node| {
            let name = model.node_name(node);
            (name.span, node, model.name_hash(&name.value))
        })
        .collect();
    all.sort_by_key(|(span, _, _)| (span.file, span.start));
    model.reserve_names(all.len());
    for (span, node, hash) in all {
        let Err(first) = model.register(node, hash) else {
            continue;
        };
        let kind = node.kind;
        let key = &model.node_name(node).value;
        let first_span = model.node_name(first).span;
        let what = if first.kind == kind {
            format!("{} `{key}` is defined twice", kind.as_str())
        } else {
            format!(
                "`{key}` is defined twice: as {} {} and as {} {}",
                first.kind.article(),
                first.kind.as_str(),
                kind.article(),
                kind.as_str()
            )
        };
        diagnostics.push(
            Diagnostic::new(&meta::DUPLICATE_NAME, span, what)
                .label("defined again here")
                .related(first_span, "first defined here")
                .help("services, externals, channels, brokers, messages and datastores share one namespace: rename one of them"),
        );
    }
}

/// The kinds a reference may name, and how to say it.
struct Expect {
    kinds: &'static [NodeKind],
    what: &'static str,
}

const SERVICE_OR_EXTERNAL: Expect = Expect {
    kinds: Reference::Call.kinds(),
    what: "a service or external",
};
const CHANNEL: Expect = Expect {
    kinds: Reference::Publish.kinds(),
    what: "a channel",
};
const DATASTORE: Expect = Expect {
    kinds: Reference::Read.kinds(),
    what: "a datastore",
};
const BROKER: Expect = Expect {
    kinds: &[NodeKind::Broker],
    what: "a broker",
};

/// Unknown references with a suggestion computed; past this many, the suggestion is skipped to
/// keep a file full of typos linear.
const MAX_SUGGESTIONS: usize = 200;

struct Checker<'m> {
    model: &'m Model,
    diagnostics: &'m mut Vec<Diagnostic>,
    suggested: usize,
}

impl Checker<'_> {
    fn check(&mut self, name: &Spanned<Name>, expect: &Expect, role: &str) {
        let found = self.model.lookup(&name.value);
        self.report(name, expect, role, found);
    }

    /// The diagnostic for a reference that found `found`, if it is not what it must name.
    fn report(
        &mut self,
        name: &Spanned<Name>,
        expect: &Expect,
        role: &str,
        found: Option<NodeRef>,
    ) {
        match found {
            Some(node) if expect.kinds.contains(&node.kind) => {}
            Some(node) => {
                let section = expect.kinds[0].section();
                self.diagnostics.push(
                    Diagnostic::new(
                        &meta::UNKNOWN_REFERENCE,
                        name.span,
                        format!(
                            "`{}` is {} {}, not {}",
                            name.value,
                            node.kind.article(),
                            node.kind.as_str(),
                            expect.what
                        ),
                    )
                    .label(format!("{role} must name {}", expect.what))
                    .related(
                        self.model.node_name(node).span,
                        format!("`{}` is defined here", name.value),
                    )
                    .help(format!("name {} defined under `{section}:`", expect.what)),
                );
            }
            None => {
                let hint = if self.suggested < MAX_SUGGESTIONS {
                    self.suggested += 1;
                    let candidates = self
                        .model
                        .names
                        .iter()
                        .filter(|n| expect.kinds.contains(&n.kind))
                        .map(|n| self.model.node_name(n).value.0.as_str());
                    suggest::hint(&name.value, candidates)
                } else {
                    String::new()
                };
                let section = expect.kinds[0].section();
                self.diagnostics.push(
                    Diagnostic::new(
                        &meta::UNKNOWN_REFERENCE,
                        name.span,
                        format!("`{}` is not defined{hint}", name.value),
                    )
                    .label(format!("{role} must name {}", expect.what))
                    .help(format!(
                        "define `{}` under `{section}:`, or fix the name",
                        name.value
                    )),
                );
            }
        }
    }
}

/// A reference that does not name what it must: the name, what it must name, its role, and the
/// node it names instead (if any).
type Failure<'m> = (
    &'m Spanned<Name>,
    &'static Expect,
    &'static str,
    Option<NodeRef>,
);

/// Services from this many on have their references looked up on two threads: a lookup is a
/// hash probe and a likely cache miss, and a large topology has a few hundred thousand.
const PARALLEL_MIN_SERVICES: usize = 20_000;

/// What a service's reference must name, and its role in a message.
fn expect_of(reference: Reference) -> (&'static Expect, &'static str) {
    match reference {
        Reference::Call => (&SERVICE_OR_EXTERNAL, "a call"),
        Reference::Request => (&CHANNEL, "a request"),
        Reference::Reply => (&CHANNEL, "a reply"),
        Reference::Publish => (&CHANNEL, "a publish"),
        Reference::Consume => (&CHANNEL, "a consume"),
        Reference::IdempotencyStore => (&DATASTORE, "an idempotency store"),
        Reference::Read | Reference::Write => (&DATASTORE, "reads and writes"),
    }
}

/// What the references of some services name, and those that fail, in order.
fn resolve<'m>(
    model: &'m Model,
    services: &'m [Service],
) -> (Vec<Option<NodeRef>>, Vec<Failure<'m>>) {
    let mut failures = Vec::new();
    let targets = model.resolve(services, |reference, name, found| {
        let (expect, role) = expect_of(reference);
        failures.push((name, expect, role, found));
    });
    (targets, failures)
}

/// Reports the references that name nothing of their kind; gives what all of them name, for the
/// graph.
fn check_references(model: &Model, diagnostics: &mut Vec<Diagnostic>) -> Targets {
    // The lookups may run on two threads; the diagnostics are made here, in file order, so that
    // the "did you mean" budget goes to the first unknown names whatever the schedule.
    let halves = crate::parallel::in_halves(&model.services, PARALLEL_MIN_SERVICES, |services| {
        vec![resolve(model, services)]
    });
    let (targets, found): (Vec<_>, Vec<_>) = halves.into_iter().unzip();
    let mut c = Checker {
        model,
        diagnostics,
        suggested: 0,
    };
    for (name, expect, role, node) in found.into_iter().flatten() {
        c.report(name, expect, role, node);
    }
    for channel in &model.channels {
        if let Some(broker) = &channel.broker {
            c.check(broker, &BROKER, "`broker`");
        }
        if let Some(dead_letter) = &channel.dead_letter
            && !channel.dead_letter_none()
        {
            c.check(dead_letter, &CHANNEL, "`dead_letter`");
        }
    }
    Targets::new(targets)
}
