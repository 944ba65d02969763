//! Runs the selected rules, applies severity overrides and the topology's `allow` list, and
//! reports unused allows (L001).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::graph::Graph;
use crate::model::Model;
use crate::source::Span;
use crate::suggest;

use super::{Context, RULES, Rule, Settings, find, meta};

/// Which rules run, at what severity, with which thresholds.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    /// Codes of the enabled rules.
    pub enabled: HashSet<&'static str>,
    /// Severity overrides by code.
    pub severity: HashMap<&'static str, Severity>,
    pub settings: Settings,
}

impl Default for RuleConfig {
    fn default() -> RuleConfig {
        RuleConfig {
            enabled: RULES.iter().map(|r| r.meta.code).collect(),
            severity: HashMap::new(),
            settings: Settings::default(),
        }
    }
}

impl RuleConfig {
    pub fn is_enabled(&self, code: &str) -> bool {
        // Loading problems cannot be switched off: the topology would not mean anything.
        code.starts_with('T') || self.enabled.contains(code)
    }

    pub fn severity_of(&self, code: &str, default: Severity) -> Severity {
        self.severity.get(code).copied().unwrap_or(default)
    }
}

/// A finding silenced by an `allow` entry.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub diagnostic: Diagnostic,
    pub reason: String,
    /// The allow entry that silenced it.
    pub allow: Span,
}

/// The findings of a lint run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub suppressed: Vec<Suppressed>,
}

/// Whether an `at:` path covers a diagnostic's path: equal, or a prefix ending at a segment.
pub fn path_covers(at: &str, path: &str) -> bool {
    path == at
        || (path.starts_with(at) && matches!(path.as_bytes().get(at.len()), Some(b'.' | b'[')))
}

/// Runs every enabled graph rule over a loaded model, on as many threads as pay off: one for small
/// topologies, the machine's cores for large ones.
pub fn lint(model: &Model, graph: &Graph, config: &RuleConfig) -> Outcome {
    let threads = if graph.graph.node_count() < PARALLEL_MIN_NODES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    lint_on(model, graph, config, threads)
}

/// [`lint`] on `threads` threads (at least one); the outcome is the same for any number.
pub fn lint_on(model: &Model, graph: &Graph, config: &RuleConfig, threads: usize) -> Outcome {
    let cx = Context::new(model, graph, &config.settings);
    let rules: Vec<&Rule> = RULES
        .iter()
        .filter(|r| r.check.is_some() && config.is_enabled(r.meta.code))
        .collect();
    let mut ran = run_rules(&cx, &rules, threads);
    for (rule, diagnostics) in rules.iter().zip(&mut ran) {
        // An override applies to every finding of the rule, whatever severity it chose.
        if let Some(&severity) = config.severity.get(rule.meta.code) {
            for d in diagnostics {
                d.severity = severity;
            }
        }
    }
    // Each rule's findings come sorted (and each rule has its own code).
    let found = diagnostic::merge_sorted(ran);
    let mut outcome = suppress(model, found, config);
    if !model.allow.is_empty() {
        // Suppressing keeps the order; the allow list's own findings (unknown rules, unused
        // allows) are put in their places.
        diagnostic::sort(&mut outcome.diagnostics);
        diagnostic::sort_by_key(&mut outcome.suppressed, |s| &s.diagnostic);
    }
    if threads > 1 {
        // The shared analyses of a large topology are megabytes of blocks of their own, and
        // unmapping them took 5 ms at 100k services that the report need not wait for: a
        // thread of their own frees them.
        let owned = (cx.sync.into_inner(), cx.facts.into_inner());
        let _ = std::thread::Builder::new().spawn(move || drop(owned));
    }
    outcome
}

/// Topologies with fewer nodes than this are linted on the calling thread: their rules take well
/// under a millisecond each, not worth starting a thread for (the language server re-lints on
/// every change).
const PARALLEL_MIN_NODES: usize = 5_000;

/// How rules are dealt to threads on large topologies (`examples/phases --rules` measures each):
/// the first thread takes them from the front of the order, the others from the back. At the
/// front, the rules that read the synchronous analysis or the call facts built on it, slowest
/// first: the first of them computes both, which cost as much as the rules that read them. At
/// the back, taken first by the other threads, the costly rules that read neither, so that no
/// thread waits for those analyses while there is other work; the rest in between. A thread
/// that runs out takes what is left from its end, the cheap rules of the other side first.
const SYNC_FRONT: &[&str] = &[
    "S106", "S105", "S110", "S104", "X501", "S103", "S102", "S107", "S108", "S109", "S101",
];
/// The costly rules that read neither the synchronous analysis nor the call facts, slowest
/// first (C301 computes the message flows that C302 reads).
const OTHER_BACK: &[&str] = &["C301", "A205", "D402", "A202", "C302"];

/// The order of [`SYNC_FRONT`], the rest, then [`OTHER_BACK`] from its end: indices in `rules`.
fn dealing_order(rules: &[&Rule]) -> Vec<usize> {
    let rank = |code: &str| {
        if let Some(i) = SYNC_FRONT.iter().position(|c| *c == code) {
            i
        } else if let Some(i) = OTHER_BACK.iter().position(|c| *c == code) {
            usize::MAX - i
        } else {
            SYNC_FRONT.len()
        }
    };
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&i| rank(rules[i].meta.code));
    order
}

/// The findings of each rule, sorted, in the order of `rules`. Large topologies spread the rules
/// over the machine's cores (rules only read the model and graph; the analyses they share are
/// computed once, by whichever rule asks first, in [`Context`]); the result does not depend on
/// the schedule.
fn run_rules(cx: &Context, rules: &[&Rule], threads: usize) -> Vec<Vec<Diagnostic>> {
    let run = |rule: &Rule| {
        let mut found = Vec::new();
        if let Some(check) = rule.check {
            check(cx, &mut found);
        }
        super::identity::fill(cx.model, &mut found);
        // Sorted here, on the rule's thread: the lists are then merged (`merge_sorted`).
        diagnostic::sort(&mut found);
        found
    };
    let threads = threads.min(rules.len());
    if threads <= 1 {
        return rules.iter().map(|r| run(r)).collect();
    }
    let queue = Mutex::new(VecDeque::from(dealing_order(rules)));
    let work = |front: bool| {
        let mut done = Vec::new();
        loop {
            let next = {
                let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
                if front {
                    queue.pop_front()
                } else {
                    queue.pop_back()
                }
            };
            let Some(i) = next else { break done };
            done.push((i, run(rules[i])));
        }
    };
    let mut results: Vec<Vec<Diagnostic>> = vec![Vec::new(); rules.len()];
    std::thread::scope(|scope| {
        // Rules that no helper thread takes (none could be started) are run here.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, || work(false))
                    .ok()
            })
            .collect();
        let mut done = work(true);
        for helper in helpers {
            match helper.join() {
                Ok(more) => done.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, found) in done {
            results[i] = found;
        }
    });
    results
}

/// Applies the `allow` list.
fn suppress(model: &Model, found: Vec<Diagnostic>, config: &RuleConfig) -> Outcome {
    let mut outcome = Outcome::default();
    // Each allow entry, resolved to a rule code; unknown rules are T002.
    let mut allows = Vec::new();
    for allow in &model.allow {
        match find(&allow.rule.value) {
            Some(rule) => allows.push((allow, rule.meta.code)),
            None => {
                let hint = suggest::hint(&allow.rule.value, super::all_names());
                outcome.diagnostics.push(
                    Diagnostic::new(&meta::INVALID_FIELD, allow.rule.span, format!("unknown rule `{}`{hint}", allow.rule.value))
                        .help("name a rule by its code (`S102`) or name (`missing-timeout`); `topolint rules` lists them"),
                );
            }
        }
    }
    if allows.is_empty() && outcome.diagnostics.is_empty() {
        // Nothing to suppress: the findings are the outcome as they are (moving 200-byte
        // diagnostics one by one was a few milliseconds on a large report).
        outcome.diagnostics = found;
        return outcome;
    }
    let mut used = vec![false; allows.len()];
    for d in found {
        let hit = allows.iter().position(|(allow, code)| {
            *code == d.code
                && match (&allow.at, &d.path) {
                    (None, _) => true,
                    (Some(at), Some(path)) => path_covers(&at.value, path),
                    (Some(_), None) => false,
                }
        });
        match hit {
            Some(i) => {
                used[i] = true;
                outcome.suppressed.push(Suppressed {
                    reason: allows[i].0.reason.value.to_string(),
                    allow: allows[i].0.span,
                    diagnostic: d,
                });
            }
            None => outcome.diagnostics.push(d),
        }
    }
    if config.is_enabled(meta::UNUSED_ALLOW.code) {
        let severity = config.severity_of(meta::UNUSED_ALLOW.code, meta::UNUSED_ALLOW.severity);
        for (i, (allow, code)) in allows.iter().enumerate() {
            // An allow for a rule that did not run cannot be judged.
            if used[i] || !config.is_enabled(code) || find(code).is_none_or(|r| r.check.is_none()) {
                continue;
            }
            let place = allow
                .at
                .as_ref()
                .map(|a| format!(" at `{}`", a.value))
                .unwrap_or_default();
            outcome.diagnostics.push(
                Diagnostic::new(&meta::UNUSED_ALLOW, allow.span, format!("this allow of `{}`{place} suppresses nothing", allow.rule.value))
                    .severity(severity)
                    .label("no finding matches")
                    .help("remove the entry, or correct its `rule` or `at` (`at` takes the path printed with a diagnostic)"),
            );
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::RULES;

    /// The dealing order puts exactly the rules that read the synchronous analysis at the front:
    /// a rule that reads it unlisted would make another thread wait, a listed one that does not
    /// would hold back the others.
    #[test]
    fn the_rules_dealt_first_are_those_that_read_the_sync_analysis() {
        // Every rule has something to look at: a budget, calls, a cycle, channels, messages.
        let loaded = crate::load::load_test_text(
            "topolint: 1
services:
  web:
    user_facing: true
    budget: 100ms
    calls: [{ to: a, timeout: 1s, retries: 3 }]
    publishes: [{ to: events, message: Placed }]
  a:
    latency: { p99: 300ms }
    calls: [{ to: web, timeout: 1s }, { to: b }]
    writes: [db]
  b: { consumes: [{ from: events }] }
  shop: { user_facing: true, calls: [{ to: b, timeout: 1s }] }
channels:
  events: { kind: queue }
datastores:
  db: { kind: postgres }
",
        );
        let graph = Graph::build(&loaded.model);
        let settings = Default::default();
        for rule in RULES.iter() {
            let Some(check) = rule.check else { continue };
            let cx = Context::new(&loaded.model, &graph, &settings);
            check(&cx, &mut Vec::new());
            assert_eq!(
                cx.has_sync(),
                SYNC_FRONT.contains(&rule.meta.code),
                "{}",
                rule.meta.code
            );
        }
        let rules: Vec<&Rule> = RULES.iter().filter(|r| r.check.is_some()).collect();
        let order: Vec<&str> = dealing_order(&rules)
            .into_iter()
            .map(|i| rules[i].meta.code)
            .collect();
        assert_eq!(order[..SYNC_FRONT.len()], *SYNC_FRONT);
        let back: Vec<&str> = order.iter().rev().take(OTHER_BACK.len()).copied().collect();
        assert_eq!(back, OTHER_BACK);
        assert_eq!(order.len(), rules.len());
    }
}
