//! SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.
//!
//! One run: `tool.driver` lists every rule with its doc as help; each finding is a result with
//! its exact region (columns in characters, 1-based, end exclusive), its related spans as
//! `relatedLocations`, a `codeFlows` thread flow for findings that are a path through the graph,
//! and a `partialFingerprints` entry built from the rule and the node's identity, so that moving
//! unrelated lines does not make a finding look new. Findings silenced by `allow` are results too,
//! with an in-source suppression, so that code scanning closes their alerts. File URIs are
//! relative to the repository root, named `%SRCROOT%` in `originalUriBaseIds`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::baseline;
use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::lints::RULES;
use crate::source::{FileId, SourceFile, Sources, Span};

use super::Report;

/// The final SARIF 2.1.0 schema, as SARIF viewers and GitHub expect to see it.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where users learn about topolint.
pub const INFORMATION_URI: &str = "https://github.com/topolint/topolint";

/// The base id of every artifact URI: the repository root.
pub const ROOT_BASE_ID: &str = "%SRCROOT%";

/// The `partialFingerprints` key (versioned, so that a change of recipe does not mix with the
/// old one).
pub const FINGERPRINT_KEY: &str = "topolintIdentity/v1";

/// Where the primary span sits on the path of a path finding.
#[derive(Clone, Copy, PartialEq)]
enum Primary {
    /// The primary span starts the path (an entrypoint, the first call of a cycle).
    First,
    /// The primary span ends it (the hop where the amplification goes over the limit).
    Last,
}

/// Rules whose findings are paths through the graph: their spans make a thread flow.
const PATH_RULES: &[(&str, Primary)] = &[
    ("S101", Primary::First),
    ("S104", Primary::Last),
    ("S105", Primary::First),
    ("S106", Primary::First),
    ("S107", Primary::First),
];

/// The directory that artifact URIs are relative to.
#[derive(Debug, Clone)]
pub struct SourceRoot {
    dir: PathBuf,
}

impl SourceRoot {
    /// The repository root: the nearest directory upward from the working directory that holds
    /// `.git` (a directory, or a file in worktrees and submodules); else the working directory.
    pub fn discover() -> SourceRoot {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let dir = cwd
            .ancestors()
            .find(|d| d.join(".git").exists())
            .unwrap_or(&cwd)
            .to_path_buf();
        SourceRoot::at(&dir)
    }

    pub fn at(dir: &Path) -> SourceRoot {
        SourceRoot { dir: absolute(dir) }
    }

    /// `file:///…/`: the root as a URI, ending with a slash as SARIF requires.
    pub fn uri(&self) -> String {
        let mut uri = file_uri(&self.dir);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        uri
    }

    /// The path of a file relative to the root, with `/` separators; `None` outside the root.
    pub fn relative(&self, file: &SourceFile) -> Option<String> {
        self.relative_of(&absolute(&file.path))
    }

    /// [`SourceRoot::relative`] of a path already made absolute.
    fn relative_of(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.dir).ok()?;
        let parts: Vec<_> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        Some(parts.join("/"))
    }

    /// The artifact location of a file: relative to the root when it is inside it, else an
    /// absolute `file:` URI.
    pub fn artifact(&self, file: &SourceFile) -> Value {
        self.artifact_of(&absolute(&file.path))
    }

    /// [`SourceRoot::artifact`] of a path already made absolute.
    fn artifact_of(&self, path: &Path) -> Value {
        match path.strip_prefix(&self.dir) {
            Ok(relative) => json!({ "uri": encode_path(relative), "uriBaseId": ROOT_BASE_ID }),
            Err(_) => json!({ "uri": file_uri(path) }),
        }
    }
}

/// How the reports name each file of a report, worked out once a file: making a path absolute
/// resolves its links with a system call per part, which done for every location was most of
/// the SARIF and GitHub reports' time on a large topology.
pub struct Places {
    /// By file index: the artifact location, and the path relative to the root when inside it.
    artifact: Vec<Value>,
    relative: Vec<Option<String>>,
}

impl Places {
    pub fn new(root: &SourceRoot, sources: &Sources) -> Places {
        let paths: Vec<PathBuf> = sources.files.iter().map(|f| absolute(&f.path)).collect();
        Places {
            artifact: paths.iter().map(|p| root.artifact_of(p)).collect(),
            relative: paths.iter().map(|p| root.relative_of(p)).collect(),
        }
    }

    /// [`SourceRoot::artifact`] of the file.
    pub fn artifact(&self, file: FileId) -> &Value {
        &self.artifact[file.index()]
    }

    /// [`SourceRoot::relative`] of the file.
    pub fn relative(&self, file: FileId) -> Option<&str> {
        self.relative[file.index()].as_deref()
    }
}

/// An absolute path without symbolic links where it exists (so that a root and a file reached
/// through different links still match), made absolute lexically where it does not.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Percent-encodes a path for a URI, with `/` between components.
fn encode_path(path: &Path) -> String {
    let mut parts = Vec::new();
    for c in path.components() {
        if let std::path::Component::Normal(part) = c {
            parts.push(encode(&part.to_string_lossy()));
        }
    }
    parts.join("/")
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn file_uri(path: &Path) -> String {
    format!("file:///{}", encode_path(path))
}

/// `deep-sync-chain` → `DeepSyncChain`: SARIF's convention for rule names.
pub fn pascal_case(kebab: &str) -> String {
    kebab
        .split(['-', '_'])
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Ends a text with a period, as SARIF wants messages to be sentences.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// The paragraph under a doc's title: what the rule finds, in a sentence or two.
fn full_description(doc: &str) -> Option<String> {
    let body = doc.split_once('\n')?.1.trim_start();
    let paragraph = body.split("\n\n").next()?.trim();
    (!paragraph.is_empty() && !paragraph.starts_with(['#', '*', '`']))
        .then(|| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A doc's links to sibling docs (`[S107](S107-sync-cycle.md)`) made absolute, since the help is
/// read far from the `lints/` folder.
fn absolute_links(doc: &str) -> String {
    doc.replace(
        "](",
        &format!("]({}/", crate::docs::DOCS_URL.trim_end_matches('/')),
    )
    .replace(&format!("]({}/http", crate::docs::DOCS_URL), "](http")
    .replace(&format!("]({}/#", crate::docs::DOCS_URL), "](#")
}

fn rule(meta: &RuleMeta) -> Value {
    let doc = crate::docs::doc(meta);
    let mut rule = json!({
        "id": meta.code,
        "name": pascal_case(meta.name),
        "shortDescription": { "text": sentence(meta.summary) },
        "fullDescription": {
            "text": sentence(&doc.and_then(full_description).unwrap_or_else(|| meta.summary.to_string())),
        },
        "helpUri": crate::docs::url(meta),
        "defaultConfiguration": { "level": level(meta.severity) },
        "properties": {
            "tags": [category(meta.code)],
        },
    });
    if let Some(doc) = doc {
        rule["help"] = json!({ "text": doc, "markdown": absolute_links(doc) });
    }
    rule
}

/// The tag GitHub shows beside a rule: the family its code letter names.
fn category(code: &str) -> &'static str {
    match code.as_bytes().first() {
        Some(b'S') => "synchronous-calls",
        Some(b'A') => "asynchronous-messaging",
        Some(b'C') => "contracts",
        Some(b'D') => "data",
        Some(b'T') => "loading",
        _ => "configuration",
    }
}

/// A physical location: the artifact and the full region, with the text under it.
fn physical(sources: &Sources, places: &Places, span: Span) -> Value {
    let file = sources.get(span.file);
    let (start, end) = sources.range(span);
    let mut region = json!({
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": end.column,
    });
    let snippet = sources.text(span);
    if !snippet.is_empty() {
        region["snippet"] = json!({ "text": snippet });
    }
    let mut location = json!({ "artifactLocation": places.artifact(span.file), "region": region });
    // The lines around the region, so that a viewer without the file shows some context.
    let lines = file.lines().line_count() as u32;
    let (first, last) = (
        start.line.saturating_sub(1).max(1),
        (end.line + 1).min(lines),
    );
    if first < start.line || last > end.line {
        let offset = |line: u32| match line {
            l if l as usize >= file.lines().line_count() => file.text.len(),
            l => file.lines().line_start(l as usize) as usize,
        };
        let text = file.text.get(offset(first - 1)..offset(last)).unwrap_or("");
        location["contextRegion"] = json!({
            "startLine": first,
            "endLine": last,
            "snippet": { "text": text },
        });
    }
    location
}

/// A short, stable hash (64-bit FNV-1a): the same on every platform and Rust version, which
/// `std`'s hasher does not promise.
fn fnv1a(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Builds results; counts the findings seen per identity so that equal ones get distinct
/// fingerprints.
struct Results<'a> {
    sources: &'a Sources,
    places: Places,
    seen: std::collections::HashMap<String, usize>,
}

impl Results<'_> {
    fn result(&mut self, d: &Diagnostic) -> Value {
        let index = RULES.iter().position(|r| r.meta.code == d.code);
        let identity = format!("{}\0{}", d.code, baseline::identity(self.sources, d));
        let seen = self.seen.entry(identity.clone()).or_insert(0);
        *seen += 1;
        let fingerprint = fnv1a(&format!("{identity}\0{seen}"));
        let mut text = sentence(&d.message);
        if let Some(help) = &d.help {
            text.push_str("\n\n");
            text.push_str(&sentence(help));
        }
        let mut primary =
            json!({ "physicalLocation": physical(self.sources, &self.places, d.span) });
        if let Some(label) = &d.label {
            primary["message"] = json!({ "text": label });
        }
        if let Some(path) = &d.path {
            primary["logicalLocations"] = json!([{ "fullyQualifiedName": path }]);
        }
        let mut result = json!({
            "ruleId": d.code,
            "level": level(d.severity),
            "message": { "text": text },
            "locations": [primary.clone()],
            "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
        });
        if let Some(index) = index {
            result["ruleIndex"] = json!(index);
        }
        if !d.related.is_empty() {
            result["relatedLocations"] = d
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": physical(self.sources, &self.places, r.span),
                        "message": { "text": r.label },
                    })
                })
                .collect();
        }
        if let Some(&(_, at)) = PATH_RULES.iter().find(|(code, _)| *code == d.code) {
            let mut steps: Vec<Value> = d
                .related
                .iter()
                .map(|r| {
                    json!({
                        "physicalLocation": physical(self.sources, &self.places, r.span),
                        "message": { "text": r.label },
                    })
                })
                .collect();
            let mut first = primary;
            first.as_object_mut().map(|o| o.remove("logicalLocations"));
            if first.get("message").is_none() {
                first["message"] = json!({ "text": sentence(&d.message) });
            }
            match at {
                Primary::First => steps.insert(0, first),
                Primary::Last => steps.push(first),
            }
            let locations: Vec<Value> = steps
                .into_iter()
                .map(|location| json!({ "location": location }))
                .collect();
            result["codeFlows"] = json!([{ "threadFlows": [{ "locations": locations }] }]);
        }
        result
    }
}

/// The SARIF log of a report, with URIs relative to `root`.
pub fn render_with_root(report: &Report, root: &SourceRoot) -> String {
    let mut out = Vec::new();
    write_with_root(report, root, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the log is text")
}

/// Writes the SARIF log of a report to `out`, each result as it is made: the log as one value
/// took 700 MB for the 16,897 findings of 100k services. The bytes are those of the whole log
/// pretty-printed: the log around its results is printed with no results and cut where they go,
/// and each result is printed alone and indented to its depth (a string's line breaks are
/// escaped, so every line of it is a line of the log).
pub fn write_with_root(report: &Report, root: &SourceRoot, out: &mut dyn Write) -> io::Result<()> {
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "topolint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": RULES.iter().map(|r| rule(r.meta)).collect::<Vec<_>>(),
                },
            },
            "originalUriBaseIds": {
                ROOT_BASE_ID: {
                    "uri": root.uri(),
                    "description": { "text": "The root of the repository." },
                },
            },
            "columnKind": "unicodeCodePoints",
            "results": [],
        }],
    });
    let frame = serde_json::to_string_pretty(&log)?;
    // Keys are quoted and a string's quotes escaped: the key is found only where it is one.
    const KEY: &str = "\"results\": [";
    let at = frame.find(KEY).expect("the log has its results key") + KEY.len();
    let line_start = frame[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = " ".repeat(frame[line_start..].len() - frame[line_start..].trim_start().len());
    let item_indent = format!("{indent}  ");
    out.write_all(&frame.as_bytes()[..at])?;
    let mut results = Results {
        sources: report.sources,
        places: Places::new(root, report.sources),
        seen: Default::default(),
    };
    let all = report.diagnostics.iter().map(|d| (d, None));
    let suppressed = report.suppressed.iter().map(|s| (&s.diagnostic, Some(s)));
    let mut any = false;
    for (d, suppression) in all.chain(suppressed) {
        let mut result = results.result(d);
        if let Some(s) = suppression {
            result["suppressions"] = json!([{ "kind": "inSource", "justification": s.reason }]);
        }
        out.write_all(if any { b",\n" } else { b"\n" })?;
        any = true;
        for (i, line) in serde_json::to_string_pretty(&result)?.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(item_indent.as_bytes())?;
            out.write_all(line.as_bytes())?;
        }
    }
    if any {
        write!(out, "\n{indent}")?;
    }
    // The list's `]` and the rest of the log.
    out.write_all(&frame.as_bytes()[at..])?;
    out.write_all(b"\n")
}

/// The SARIF log of a report, with URIs relative to the repository around the working directory.
pub fn render(report: &Report) -> String {
    render_with_root(report, &SourceRoot::discover())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_name_each_file_as_the_root_does() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("topo/a.yaml");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, "topolint: 1\n").unwrap();
        let mut sources = Sources::default();
        let files = [inside, PathBuf::from("/elsewhere/b.yaml")].map(|path| {
            let name = path.display().to_string();
            sources.add(SourceFile::new(path, name, String::new()))
        });
        let root = SourceRoot::at(dir.path());
        let places = Places::new(&root, &sources);
        for id in files {
            let file = sources.get(id);
            assert_eq!(places.artifact(id), &root.artifact(file));
            assert_eq!(places.relative(id), root.relative(file).as_deref());
        }
        assert_eq!(places.relative(files[0]), Some("topo/a.yaml"));
        assert_eq!(places.relative(files[1]), None);
    }

    #[test]
    fn names_are_pascal_case() {
        assert_eq!(pascal_case("deep-sync-chain"), "DeepSyncChain");
        assert_eq!(pascal_case("yaml-syntax"), "YamlSyntax");
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(
            encode_path(Path::new("a b/ü#.yaml")),
            "a%20b/%C3%BC%23.yaml"
        );
        assert_eq!(file_uri(Path::new("/x/y")), "file:///x/y");
        assert!(SourceRoot::at(Path::new("/")).uri().ends_with('/'));
    }

    #[test]
    fn docs_give_a_full_description_and_absolute_links() {
        let doc = "# S101 deep-sync-chain\n\nA user-facing\nservice waits.\n\n## What it does\nSee [S107](S107-sync-cycle.md) and [x](https://e.org).\n";
        assert_eq!(
            full_description(doc).as_deref(),
            Some("A user-facing service waits.")
        );
        let linked = absolute_links(doc);
        assert!(linked.contains(&format!("]({}/S107-sync-cycle.md)", crate::docs::DOCS_URL)));
        assert!(linked.contains("](https://e.org)"));
    }

    #[test]
    fn sentences_end_once() {
        assert_eq!(sentence("no timeout"), "no timeout.");
        assert_eq!(sentence("done."), "done.");
    }

    #[test]
    fn fingerprints_are_stable_hashes() {
        // FNV-1a test vectors: a change of hasher would break every uploaded fingerprint.
        assert_eq!(fnv1a(""), "cbf29ce484222325");
        assert_eq!(fnv1a("a"), "af63dc4c8601ec8c");
    }
}
