//! Baselines: teams adopting topolint on a large topology record today's findings once
//! (`--write-baseline FILE`) and from then on see only new ones (`--baseline FILE`).
//!
//! A finding is known by its rule code and the identity of the node or edge it is about
//! (`S102 services.storefront.calls[to=orders]`, see `lints::identity`), never by line numbers,
//! so that edits elsewhere in the topology keep the baseline valid. Entries that match no finding
//! any more are reported as stale, so that the file shrinks as problems are fixed. Loading
//! problems (T codes) are never baselined: a topology that does not load has no findings to
//! compare.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::source::Sources;

/// The baseline file format's version.
pub const VERSION: u32 = 1;

/// Longest text kept in the identity of a finding without a node path.
const MAX_TEXT: usize = 120;

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The rule's code (`S102`).
    pub code: String,
    /// The node or edge (`services.storefront.calls[to=orders]`).
    pub identity: String,
    /// The message when the entry was written: for people reading the file, not matched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The contents of a baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    /// Sorted by code, then identity; a finding that occurs twice is listed twice.
    pub findings: Vec<Entry>,
}

/// The identity of what a finding is about: the node or edge for findings that have one, else
/// the file and the text under the span (position-free: the same wherever the text moves).
pub fn identity(sources: &Sources, d: &Diagnostic) -> String {
    if let Some(identity) = d.identity.as_ref().or(d.path.as_ref()) {
        return identity.clone();
    }
    let file = sources.get(d.span.file);
    let mut text = sources.text(d.span).trim();
    if text.is_empty() {
        // An empty span (an end of file, a missing key): the text of its line.
        let line = file.lines().line_of(d.span.start);
        let start = file.lines().line_start(line) as usize;
        let end = file.lines().line_start(line + 1) as usize;
        text = file.text.get(start..end.max(start)).unwrap_or("").trim();
    }
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT) {
        text.truncate(cut);
    }
    format!("{}: {text}", file.name)
}

impl Baseline {
    /// The baseline of a set of findings.
    pub fn of(sources: &Sources, diagnostics: &[Diagnostic]) -> Baseline {
        let mut findings: Vec<Entry> = diagnostics
            .iter()
            .filter(|d| !d.is_load_error())
            .map(|d| Entry {
                code: d.code.to_string(),
                identity: identity(sources, d),
                message: d.message.clone(),
            })
            .collect();
        findings.sort_by(|a, b| (&a.code, &a.identity).cmp(&(&b.code, &b.identity)));
        Baseline {
            version: VERSION,
            findings,
        }
    }

    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a baseline serializes");
        text.push('\n');
        text
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        let baseline: Baseline = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if baseline.version != VERSION {
            return Err(format!(
                "version {} is not supported (this topolint writes version {VERSION})",
                baseline.version
            ));
        }
        Ok(baseline)
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        Baseline::parse(&text)
            .map_err(|e| format!("the baseline {} is not valid: {e}", path.display()))
    }

    /// Splits findings into new ones (kept, in order) and known ones, and lists the entries that
    /// match nothing. `ran` says whether a rule ran: an entry of a rule that did not run (left out
    /// by `--select`) cannot be judged stale.
    pub fn apply(
        &self,
        sources: &Sources,
        diagnostics: Vec<Diagnostic>,
        ran: impl Fn(&str) -> bool,
    ) -> Applied {
        let mut known: HashMap<(String, String), usize> = HashMap::new();
        for e in &self.findings {
            *known
                .entry((e.code.clone(), e.identity.clone()))
                .or_default() += 1;
        }
        let mut applied = Applied::default();
        let loaded = !diagnostics.iter().any(Diagnostic::is_load_error);
        for d in diagnostics {
            let key = (d.code.to_string(), identity(sources, &d));
            match known.get_mut(&key) {
                Some(n) if *n > 0 && !d.is_load_error() => {
                    *n -= 1;
                    applied.known += 1;
                }
                _ => applied.new.push(d),
            }
        }
        if loaded {
            // Entries of one key are interchangeable: the stale ones are the last of each key.
            let mut left = known;
            for e in self.findings.iter().rev() {
                if let Some(n) = left.get_mut(&(e.code.clone(), e.identity.clone()))
                    && *n > 0
                    && ran(&e.code)
                {
                    *n -= 1;
                    applied.stale.push(e.clone());
                }
            }
            applied.stale.reverse();
        }
        applied
    }
}

/// What applying a baseline leaves.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings the baseline does not know, in their order.
    pub new: Vec<Diagnostic>,
    /// How many findings the baseline knew.
    pub known: usize,
    /// Entries that matched no finding.
    pub stale: Vec<Entry>,
}

/// `--baseline` and `--write-baseline` on an analysis: writes the baseline file, removes the
/// known findings from `diagnostics`, and returns the notes to print on standard error.
pub fn run(
    diagnostics: &mut Vec<Diagnostic>,
    sources: &Sources,
    read: Option<&Path>,
    write: Option<&Path>,
    ran: impl Fn(&str) -> bool,
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let loaded = !diagnostics.iter().any(Diagnostic::is_load_error);
    let mut baseline = match read {
        Some(path) => Some((path, Baseline::read(path)?)),
        None => None,
    };
    if let Some(path) = write {
        if loaded {
            let written = Baseline::of(sources, diagnostics);
            crate::report::write_atomically(path, &written.to_text())
                .map_err(|e| format!("cannot write the baseline {}: {e}", path.display()))?;
            notes.push(format!(
                "wrote {} to the baseline {}",
                count(written.findings.len(), "finding"),
                path.display()
            ));
            // The findings just recorded are known from now on: report as a run with it would.
            baseline = Some((path, written));
        } else {
            notes.push(format!(
                "did not write the baseline {}: the topology could not be loaded",
                path.display()
            ));
        }
    }
    let Some((path, baseline)) = baseline else {
        return Ok(notes);
    };
    let applied = baseline.apply(sources, std::mem::take(diagnostics), ran);
    *diagnostics = applied.new;
    if applied.known > 0 && write.is_none() {
        notes.push(format!(
            "not reporting {} known to the baseline {}",
            count(applied.known, "finding"),
            path.display()
        ));
    }
    if !applied.stale.is_empty() {
        let mut note = format!(
            "{} of the baseline {} no longer {} any finding; `--write-baseline {}` drops {}:",
            count(applied.stale.len(), "entry"),
            path.display(),
            if applied.stale.len() == 1 {
                "matches"
            } else {
                "match"
            },
            path.display(),
            if applied.stale.len() == 1 {
                "it"
            } else {
                "them"
            },
        );
        for e in &applied.stale {
            note.push_str(&format!("\n  {} {}", e.code, e.identity));
        }
        notes.push(note);
    }
    Ok(notes)
}

fn count(n: usize, word: &str) -> String {
    match (n, word) {
        (1, _) => format!("1 {word}"),
        (_, "entry") => format!("{n} entries"),
        _ => format!("{n} {word}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{RuleMeta, Severity};
    use crate::source::{FileId, SourceFile, Span};

    const RULE: RuleMeta = RuleMeta {
        code: "L001",
        name: "unused-allow",
        severity: Severity::Info,
        summary: "",
    };

    fn sources(text: &str) -> Sources {
        let mut sources = Sources::default();
        sources.add(SourceFile::new(
            "t.yaml".into(),
            "t.yaml".into(),
            text.into(),
        ));
        sources
    }

    fn at(text: &str, needle: &str) -> Diagnostic {
        let start = text.find(needle).unwrap();
        let span = Span::new(FileId::new(0), start, start + needle.len());
        Diagnostic::new(&RULE, span, format!("at {start}"))
    }

    #[test]
    fn findings_without_a_path_are_known_by_their_text_not_their_line() {
        let text = "a: 1\nallow: [{ rule: S102 }]\n";
        let moved = format!("# new\n\n{text}");
        let (s1, s2) = (sources(text), sources(&moved));
        let d1 = at(text, "{ rule: S102 }");
        let d2 = at(&moved, "{ rule: S102 }");
        assert_ne!(d1.span, d2.span);
        assert_eq!(identity(&s1, &d1), "t.yaml: { rule: S102 }");
        assert_eq!(identity(&s1, &d1), identity(&s2, &d2));
        // An empty span is known by its line's text.
        let empty = Diagnostic::new(&RULE, Span::new(FileId::new(0), 2, 2), "m");
        assert_eq!(identity(&s1, &empty), "t.yaml: a: 1");
    }

    #[test]
    fn equal_entries_match_one_finding_each() {
        let text = "x: { rule: S102 }\n";
        let s = sources(text);
        let d = at(text, "{ rule: S102 }");
        let mut baseline = Baseline::of(&s, &[d.clone(), d.clone()]);
        assert_eq!(baseline.findings.len(), 2);
        let applied = baseline.apply(&s, vec![d.clone()], |_| true);
        assert_eq!(
            (applied.new.len(), applied.known, applied.stale.len()),
            (0, 1, 1)
        );
        let applied = baseline.apply(&s, vec![d.clone(), d.clone(), d.clone()], |_| true);
        assert_eq!(
            (applied.new.len(), applied.known, applied.stale.len()),
            (1, 2, 0)
        );
        // A rule that did not run leaves its entries unjudged.
        let applied = baseline.apply(&s, vec![], |code| code != "L001");
        assert!(applied.stale.is_empty());
        baseline.version = 2;
        assert!(Baseline::parse(&baseline.to_text()).is_err());
    }
}
