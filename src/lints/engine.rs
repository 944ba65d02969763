//! Runs the selected rules, applies severity overrides and the topology's `allow` list, and
//! reports unused allows (L001).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

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
    let mut found = Vec::new();
    for (rule, mut diagnostics) in rules.iter().zip(run_rules(&cx, &rules, threads)) {
        // An override applies to every finding of the rule, whatever severity it chose.
        if let Some(&severity) = config.severity.get(rule.meta.code) {
            for d in &mut diagnostics {
                d.severity = severity;
            }
        }
        found.append(&mut diagnostics);
    }
    let mut outcome = suppress(model, found, config);
    diagnostic::sort(&mut outcome.diagnostics);
    diagnostic::sort_by_key(&mut outcome.suppressed, |s| &s.diagnostic);
    outcome
}

/// Topologies with fewer nodes than this are linted on the calling thread: their rules take well
/// under a millisecond each, not worth starting a thread for (the language server re-lints on
/// every change).
const PARALLEL_MIN_NODES: usize = 5_000;

/// The rules whose passes cost the most on large topologies (`examples/phases` measures each):
/// started first, so that no thread is left with a long rule at the end.
const SLOWEST_FIRST: &[&str] = &[
    "S106", "S110", "C301", "S107", "S105", "S104", "S101", "C302", "X501",
];

/// The findings of each rule, in the order of `rules`. Large topologies spread the rules over the
/// machine's cores (rules only read the model and graph; the analyses they share are computed once,
/// by whichever rule asks first, in [`Context`]); the result does not depend on the schedule.
fn run_rules(cx: &Context, rules: &[&Rule], threads: usize) -> Vec<Vec<Diagnostic>> {
    let run = |rule: &Rule| {
        let mut found = Vec::new();
        if let Some(check) = rule.check {
            check(cx, &mut found);
        }
        super::identity::fill(cx.model, &mut found);
        found
    };
    let threads = threads.min(rules.len());
    if threads <= 1 {
        return rules.iter().map(|r| run(r)).collect();
    }
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&i| {
        SLOWEST_FIRST
            .iter()
            .position(|c| *c == rules[i].meta.code)
            .unwrap_or(SLOWEST_FIRST.len())
    });
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break done };
            done.push((i, run(rules[i])));
        }
    };
    let mut results: Vec<Vec<Diagnostic>> = vec![Vec::new(); rules.len()];
    std::thread::scope(|scope| {
        // Rules that no helper thread takes (none could be started) are run here.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut done = work();
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
