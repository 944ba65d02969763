//! The project's own diagnostic type. Every output format renders this; only `report::human`
//! knows about miette.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

use serde::Serialize;

use crate::source::{FileId, Span};

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

/// A diagnostic's text without much spare capacity. `format!` sizes a string by a guess (twice
/// its literal text) and doubles it as it grows, which left a large report's findings a third
/// larger than their text: at 100k services, megabytes at the moment memory peaks. Shrinking
/// splits the block in place, but costs a call into the allocator: short strings, whose spare
/// room is small, are left as they are.
fn fitted(text: impl Into<String>) -> String {
    let mut text = text.into();
    if text.capacity() - text.len() > 64 {
        text.shrink_to_fit();
    }
    text
}

impl Diagnostic {
    pub fn new(rule: &RuleMeta, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: rule.code,
            name: rule.name,
            severity: rule.severity,
            message: fitted(message),
            label: None,
            help: None,
            span,
            related: Vec::new(),
            path: None,
            identity: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(fitted(label));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(fitted(help));
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: fitted(label),
        });
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(fitted(path));
        self
    }

    /// Sets the identity where the rule knows it; the engine derives it from `path` otherwise.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(fitted(identity));
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
    sort_by_key(diagnostics, |d| d);
}

/// Sorts items that hold a diagnostic in the same order as [`sort`], keeping the order of equal
/// ones. The keys are sorted on their own and each item then moved once: a merge sort moved
/// every 200-byte diagnostic at each of its passes, most of the sort's time on a large report.
pub fn sort_by_key<T>(items: &mut [T], key: impl Fn(&T) -> &Diagnostic) {
    // Most rules find in file order: their lists are checked, not sorted.
    let order = |a: &Diagnostic, b: &Diagnostic| {
        (a.span.file, a.span.start, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.code,
            &b.message,
        ))
    };
    if items.is_sorted_by(|a, b| order(key(a), key(b)).is_le()) {
        return;
    }
    let mut keys: Vec<(FileId, u32, &str, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let d = key(item);
            (d.span.file, d.span.start, d.code, i)
        })
        .collect();
    keys.sort_unstable_by(|a, b| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| key(&items[a.3]).message.cmp(&key(&items[b.3]).message))
            .then(a.3.cmp(&b.3))
    });
    let mut order: Vec<usize> = keys.into_iter().map(|k| k.3).collect();
    // Position k takes the item at order[k]: each cycle of the permutation is followed once,
    // marking placed positions with order[k] = k.
    for start in 0..order.len() {
        let mut k = start;
        loop {
            let next = order[k];
            order[k] = k;
            if next == start {
                break;
            }
            items.swap(k, next);
            k = next;
        }
    }
}

/// Merges lists that are each sorted as [`sort`] sorts into one list in that order, moving each
/// diagnostic once; no two lists may share a code (the engine's lists are one rule's findings
/// each), so that lists never tie and messages need no comparing. The rules' threads sort their
/// own findings: gathering them into one list and sorting that took 7 ms at 100k services after
/// the last rule, with one core idle.
pub fn merge_sorted(lists: Vec<Vec<Diagnostic>>) -> Vec<Diagnostic> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    // Taken from the front in place (a deque on the list's own buffer), so that each diagnostic
    // is moved once.
    let mut lists: Vec<VecDeque<Diagnostic>> = lists.into_iter().map(VecDeque::from).collect();
    let key = |d: &Diagnostic| (d.span.file, d.span.start, d.code);
    let mut heads = BinaryHeap::with_capacity(lists.len());
    for (i, list) in lists.iter().enumerate() {
        if let Some(d) = list.front() {
            heads.push(Reverse((key(d), i)));
        }
    }
    while let Some(Reverse((_, i))) = heads.pop() {
        out.extend(lists[i].pop_front());
        if let Some(d) = lists[i].front() {
            heads.push(Reverse((key(d), i)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::meta;

    /// The sort gives what a stable sort by (file, position, code, message) gives, equal
    /// diagnostics in their first order, on many small reports with many ties.
    #[test]
    fn diagnostics_sort_like_a_stable_sort_by_their_key() {
        let codes = [
            &meta::YAML_SYNTAX,
            &meta::INVALID_FIELD,
            &meta::UNUSED_ALLOW,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut draw = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for len in 0..60 {
            let report: Vec<Diagnostic> = (0..len)
                .map(|i| {
                    let span = Span::new(FileId::new(draw(2) as u32), draw(4) as usize, 9);
                    let message = format!("m{}", draw(2));
                    // The label tells apart diagnostics that compare equal.
                    Diagnostic::new(codes[draw(3) as usize], span, message).label(i.to_string())
                })
                .collect();
            let mut expected = report.clone();
            expected.sort_by(|a, b| {
                (a.span.file, a.span.start, a.code, &a.message).cmp(&(
                    b.span.file,
                    b.span.start,
                    b.code,
                    &b.message,
                ))
            });
            let mut sorted = report.clone();
            sort(&mut sorted);
            let labels = |v: &[Diagnostic]| -> Vec<String> {
                v.iter()
                    .map(|d| d.label.clone().unwrap_or_default())
                    .collect()
            };
            assert_eq!(labels(&sorted), labels(&expected), "{len} diagnostics");
            // Cut into one list per code, each sorted, and merged: the same order.
            let lists: Vec<Vec<Diagnostic>> = codes
                .iter()
                .map(|rule| {
                    let mut list: Vec<Diagnostic> = report
                        .iter()
                        .filter(|d| d.code == rule.code)
                        .cloned()
                        .collect();
                    sort(&mut list);
                    list
                })
                .collect();
            assert_eq!(
                labels(&merge_sorted(lists)),
                labels(&expected),
                "{len} merged"
            );
        }
    }
}
