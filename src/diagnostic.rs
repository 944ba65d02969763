//! The project's own diagnostic type. Every output format renders this; only `report::human`
//! knows about miette.

use std::fmt;

use serde::Serialize;

use crate::source::Span;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every rule declares about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// A span with a label, shown beside the primary one (a hop of a chain, the first definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub label: String,
}

/// One finding or loading problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// What is wrong, lower case, no trailing period, naming the nodes.
    pub message: String,
    /// The label on the primary span (short).
    pub label: Option<String>,
    /// The fix, with the YAML to write where it fits.
    pub help: Option<String>,
    pub span: Span,
    pub related: Vec<Related>,
    /// The node's location as `allow: at:` accepts it (`services.web.calls[0]`).
    pub path: Option<String>,
    /// `path` with list indexes replaced by the item's target (`services.web.calls[to=orders]`),
    /// so that it survives edits elsewhere: what baselines and SARIF fingerprints key on. Filled
    /// by the engine from `path` (see `lints::identity`).
    pub identity: Option<String>,
}

impl Diagnostic {
    pub fn new(rule: &RuleMeta, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: rule.code,
            name: rule.name,
            severity: rule.severity,
            message: message.into(),
            label: None,
            help: None,
            span,
            related: Vec::new(),
            path: None,
            identity: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
        });
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the identity where the rule knows it; the engine derives it from `path` otherwise.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Loading problems (T-codes) stop linting and give exit code 2.
    pub fn is_load_error(&self) -> bool {
        self.code.starts_with('T')
    }
}

/// Sort by file, then position, then code: the order every output uses.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.span.file, a.span.start, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.code,
            &b.message,
        ))
    });
}

/// Sorts items that hold a diagnostic in the same order as [`sort`].
pub fn sort_by_key<T>(items: &mut [T], key: impl Fn(&T) -> &Diagnostic) {
    items.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        (a.span.file, a.span.start, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.code,
            &b.message,
        ))
    });
}
