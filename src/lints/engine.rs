//! Runs the selected rules, applies severity overrides and the topology's `allow` list, and
//! reports unused allows (L001).

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::graph::Graph;
use crate::model::Model;
use crate::source::Span;
use crate::suggest;

use super::{Context, RULES, Settings, find, meta};

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

/// Runs every enabled graph rule over a loaded model.
pub fn lint(model: &Model, graph: &Graph, config: &RuleConfig) -> Outcome {
    let cx = Context::new(model, graph, &config.settings);
    let mut found = Vec::new();
    for rule in RULES {
        let Some(check) = rule.check else { continue };
        if !config.is_enabled(rule.meta.code) {
            continue;
        }
        let start = found.len();
        check(&cx, &mut found);
        // An override applies to every finding of the rule, whatever severity it chose.
        if let Some(&severity) = config.severity.get(rule.meta.code) {
            for d in &mut found[start..] {
                d.severity = severity;
            }
        }
    }
    super::identity::fill(model, &mut found);
    let mut outcome = suppress(model, found, config);
    diagnostic::sort(&mut outcome.diagnostics);
    diagnostic::sort_by_key(&mut outcome.suppressed, |s| &s.diagnostic);
    outcome
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
                    reason: allows[i].0.reason.value.clone(),
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
