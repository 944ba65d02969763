//! The topology the server lints: every topology file under the workspace roots, read from disk,
//! with the editor's open documents in place of their disk contents. The files make one graph, so
//! any change re-lints them all and publishes for every file whose diagnostics changed. Parsing
//! is most of the cost of a lint, so each file's parse is kept until its text changes; merging,
//! the graph and the rules are redone every time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types as lsp;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::lints::engine::RuleConfig;
use crate::lints::meta;
use crate::load::{self, Limits};
use crate::model::Document;
use crate::source::{FileId, SourceFile, Sources};
use crate::{Analysis, analyze};

use super::convert::{self, Converter};
use super::{log, uri};

/// One topology file of the workspace.
struct Entry {
    path: PathBuf,
    /// The URI diagnostics are published under: the editor's own spelling once it opened the
    /// file, ours until then.
    uri: lsp::Uri,
    file: SourceFile,
    /// Read from disk but not text (binary, not UTF-8, too big): the offset and the message.
    unreadable: Option<(usize, String)>,
    /// The editor's version while the document is open.
    version: Option<i32>,
    parsed: Option<Parsed>,
}

/// A file's parse, valid while its text and its place in the list stay the same (spans hold
/// the file's index).
struct Parsed {
    id: FileId,
    document: Option<Document>,
    diagnostics: Vec<Diagnostic>,
}

impl Entry {
    fn new(path: PathBuf, file: SourceFile, unreadable: Option<(usize, String)>) -> Entry {
        Entry {
            uri: uri_of_path(&path),
            path,
            file,
            unreadable,
            version: None,
            parsed: None,
        }
    }

    fn set_text(&mut self, text: String) {
        if text != self.file.text || self.unreadable.is_some() {
            self.file = SourceFile::new(self.path.clone(), self.file.name.clone(), text);
            self.unreadable = None;
            self.parsed = None;
        }
    }
}

fn uri_of_path(path: &Path) -> lsp::Uri {
    // Our own encoding always parses; the fallback only keeps this total.
    lsp::Uri::from_str(&uri::from_path(path))
        .unwrap_or_else(|_| lsp::Uri::from_str("file:///").expect("a valid URI"))
}

/// The workspace: files, settings, the latest analysis and what the editor was last sent.
pub struct Workspace {
    roots: Vec<PathBuf>,
    /// Sorted by path; the index is the file's [`FileId`] in the next analysis.
    entries: Vec<Entry>,
    rules: RuleConfig,
    limits: Limits,
    analysis: Option<Analysis>,
    /// The URI and path of each file of `analysis`, by [`FileId`].
    analyzed: Vec<(lsp::Uri, PathBuf)>,
    /// What was last published, by URI (as text: `lsp::Uri` caches inside and cannot be a key).
    published: HashMap<String, Vec<lsp::Diagnostic>>,
    /// Files the editor opened or changed since the last lint: published even when unchanged,
    /// so that every open or change gets an answer.
    touched: HashSet<PathBuf>,
    dirty: bool,
}

impl Workspace {
    /// A workspace over `roots`, with the settings of the nearest `topolint.toml` and the
    /// topology files found there read from disk.
    pub fn new(roots: Vec<PathBuf>) -> Workspace {
        let mut ws = Workspace {
            roots,
            entries: Vec::new(),
            rules: RuleConfig::default(),
            limits: Limits::default(),
            analysis: None,
            analyzed: Vec::new(),
            published: HashMap::new(),
            touched: HashSet::new(),
            dirty: true,
        };
        ws.load_config();
        ws.scan();
        ws
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Replaces the roots (workspace folders added or removed) and reads the files again.
    pub fn set_roots(&mut self, roots: Vec<PathBuf>) {
        self.roots = roots;
        self.load_config();
        self.scan();
    }

    /// Whether a change awaits a lint.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Reads the settings of the nearest `topolint.toml` upward from the first root; a broken
    /// file is logged and the defaults apply.
    pub fn load_config(&mut self) {
        self.rules = RuleConfig::default();
        self.dirty = true;
        // Without a workspace folder, the settings of the first open document's directory.
        let Some(dir) = self
            .roots
            .first()
            .map(PathBuf::as_path)
            .or_else(|| self.entries.first().and_then(|e| e.path.parent()))
        else {
            return;
        };
        let Some(file) = Config::find(dir) else {
            return;
        };
        match Config::from_file(&file) {
            Ok(config) => self.rules = config.rules,
            Err(e) => log(&format!("{e}; using the default settings")),
        }
    }

    /// Finds the topology files under the roots again and re-reads those not open in the
    /// editor (a save, a checkout or a generator may have changed any of them).
    pub fn scan(&mut self) {
        self.dirty = true;
        let mut found = Vec::new();
        for root in &self.roots {
            match load::discover(std::slice::from_ref(root)) {
                Ok(files) => found.extend(files),
                Err(e) => log(&format!("cannot search the workspace: {e}")),
            }
        }
        let mut old: HashMap<PathBuf, Entry> = self
            .entries
            .drain(..)
            .map(|e| (e.path.clone(), e))
            .collect();
        let mut entries = Vec::with_capacity(found.len());
        for path in found {
            let kept = old.remove(&path);
            if let Some(entry) = kept.as_ref()
                && entry.version.is_some()
            {
                entries.extend(kept);
                continue;
            }
            match load::read_file(&path, &self.limits) {
                Ok((file, unreadable)) => match kept {
                    Some(mut entry) if unreadable.is_none() => {
                        entry.set_text(file.text);
                        entries.push(entry);
                    }
                    _ => entries.push(Entry::new(path, file, unreadable)),
                },
                Err(e) => log(&format!("cannot read {e}")),
            }
        }
        // Open documents stay, found on disk or not (a new file not saved yet, a file outside
        // the roots).
        entries.extend(old.into_values().filter(|e| e.version.is_some()));
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        self.entries = entries;
    }

    fn find(&self, path: &Path) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| e.path.as_path().cmp(path))
    }

    fn topology_path(uri: &lsp::Uri) -> Option<PathBuf> {
        let path = uri::to_path(uri.as_str())?;
        let name = path.file_name()?.to_string_lossy();
        load::is_topology_file(&name).then_some(path)
    }

    /// The editor opened a document; `false` when it is not a topology file (by its name).
    pub fn open(&mut self, uri: &lsp::Uri, version: i32, text: String) -> bool {
        let Some(path) = Self::topology_path(uri) else {
            return false;
        };
        self.dirty = true;
        self.touched.insert(path.clone());
        let at = match self.find(&path) {
            Ok(at) => at,
            Err(at) => {
                let name = load::display_name(&path);
                let file = SourceFile::new(path.clone(), name, String::new());
                self.entries.insert(at, Entry::new(path, file, None));
                at
            }
        };
        let entry = &mut self.entries[at];
        entry.uri = uri.clone();
        entry.version = Some(version);
        entry.set_text(text);
        if self.roots.is_empty() && self.entries.len() == 1 {
            self.load_config();
        }
        true
    }

    /// The editor changed an open document: whole texts (full sync) or ranges (incremental,
    /// applied in order, for clients that send them anyway).
    pub fn change(
        &mut self,
        uri: &lsp::Uri,
        version: i32,
        changes: Vec<lsp::TextDocumentContentChangeEvent>,
    ) {
        let Some(path) = Self::topology_path(uri) else {
            return;
        };
        let Ok(at) = self.find(&path) else {
            // A change to a document never opened: take a whole text as if it were opened.
            if let Some(full) = changes.into_iter().rev().find(|c| c.range.is_none()) {
                self.open(uri, version, full.text);
            }
            return;
        };
        self.dirty = true;
        self.touched.insert(path);
        let entry = &mut self.entries[at];
        entry.version = Some(version);
        let mut text = entry.file.text.clone();
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let file = SourceFile::new(PathBuf::new(), String::new(), text);
                    let start = convert::offset(&file, range.start);
                    let end = convert::offset(&file, range.end).max(start);
                    text = file.text;
                    text.replace_range(start..end, &change.text);
                }
            }
        }
        entry.set_text(text);
    }

    /// The editor closed a document: its disk contents count again, or, when it is not a
    /// workspace file on disk, it leaves the topology (and its diagnostics are cleared).
    pub fn close(&mut self, uri: &lsp::Uri) {
        let Some(path) = Self::topology_path(uri) else {
            return;
        };
        let Ok(at) = self.find(&path) else {
            return;
        };
        self.dirty = true;
        let in_roots = self.roots.iter().any(|r| path.starts_with(r));
        match load::read_file(&path, &self.limits) {
            Ok((file, unreadable)) if in_roots => {
                let entry = &mut self.entries[at];
                entry.version = None;
                match unreadable {
                    None => entry.set_text(file.text),
                    Some(problem) => {
                        entry.file = file;
                        entry.unreadable = Some(problem);
                        entry.parsed = None;
                    }
                }
            }
            _ => {
                self.entries.remove(at);
            }
        }
    }

    /// A file was saved: settings and files on disk may have changed. The settings are read
    /// again on every save, since editors send saves of `topolint.toml` only to its own servers.
    pub fn saved(&mut self) {
        self.load_config();
        self.scan();
    }

    /// Lints the whole topology and returns what to publish: every file whose diagnostics
    /// changed since they were last sent, every file the editor touched, and an empty list for
    /// each file that left the workspace.
    pub fn relint(&mut self) -> Vec<lsp::PublishDiagnosticsParams> {
        // Cleared first: should the lint panic, the server must not retry it forever.
        self.dirty = false;
        let mut sources = Sources::default();
        let mut documents = Vec::with_capacity(self.entries.len());
        let mut diagnostics = Vec::new();
        for (i, entry) in self.entries.iter_mut().enumerate() {
            let id = sources.add(entry.file.clone());
            debug_assert_eq!(id, FileId::new(i as u32));
            if let Some((offset, message)) = &entry.unreadable {
                diagnostics.push(Diagnostic::new(
                    &meta::YAML_SYNTAX,
                    load::unreadable_span(&entry.file, id, *offset),
                    message.clone(),
                ));
                continue;
            }
            let parsed = match entry.parsed.take() {
                Some(parsed) if parsed.id == id => parsed,
                _ => {
                    let (document, diagnostics) =
                        load::parse_document(&entry.file, id, &self.limits);
                    Parsed {
                        id,
                        document,
                        diagnostics,
                    }
                }
            };
            diagnostics.extend(parsed.diagnostics.iter().cloned());
            if let Some(document) = &parsed.document {
                documents.push((id, document.clone()));
            }
            entry.parsed = Some(parsed);
        }
        let loaded = load::merge_documents(sources, documents, diagnostics, &self.limits);
        let analysis = analyze(loaded, &self.rules);

        let uris: Vec<lsp::Uri> = self.entries.iter().map(|e| e.uri.clone()).collect();
        let mut per_file: Vec<Vec<lsp::Diagnostic>> = vec![Vec::new(); uris.len()];
        let mut converter = Converter::new(&analysis.loaded.sources, &uris);
        for d in &analysis.diagnostics {
            if let Some(list) = per_file.get_mut(d.span.file.index()) {
                list.push(converter.diagnostic(d));
            }
        }
        let mut out = Vec::new();
        for (entry, diagnostics) in self.entries.iter().zip(per_file) {
            let same = self.published.get(entry.uri.as_str()) == Some(&diagnostics);
            if same && !self.touched.contains(&entry.path) {
                continue;
            }
            out.push(lsp::PublishDiagnosticsParams {
                uri: entry.uri.clone(),
                diagnostics: diagnostics.clone(),
                version: entry.version,
            });
            self.published
                .insert(entry.uri.as_str().to_string(), diagnostics);
        }
        let current: HashSet<&str> = uris.iter().map(|u| u.as_str()).collect();
        self.published.retain(|uri, _| {
            let keep = current.contains(uri.as_str());
            if !keep && let Ok(uri) = lsp::Uri::from_str(uri) {
                out.push(lsp::PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
            keep
        });
        self.touched.clear();
        self.analyzed = self
            .entries
            .iter()
            .map(|e| (e.uri.clone(), e.path.clone()))
            .collect();
        self.analysis = Some(analysis);
        out
    }

    /// The latest analysis (`None` before the first lint).
    pub fn analysis(&self) -> Option<&Analysis> {
        self.analysis.as_ref()
    }

    /// The file of the latest analysis that a URI names.
    pub fn file_id(&self, uri: &lsp::Uri) -> Option<FileId> {
        let path = uri::to_path(uri.as_str())?;
        self.analyzed
            .iter()
            .position(|(_, p)| *p == path)
            .map(|i| FileId::new(i as u32))
    }

    /// The URI of a file of the latest analysis.
    pub fn uri(&self, id: FileId) -> Option<&lsp::Uri> {
        self.analyzed.get(id.index()).map(|(u, _)| u)
    }

    /// A file of the latest analysis as a person reads it: relative to its workspace root.
    pub fn display(&self, id: FileId) -> String {
        let Some((_, path)) = self.analyzed.get(id.index()) else {
            return String::new();
        };
        self.roots
            .iter()
            .find_map(|r| path.strip_prefix(r).ok())
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: &str =
        "topolint: 1\nservices:\n  orders:\n    calls:\n      - to: payments\n  payments: {}\n";

    fn uri(path: &Path) -> lsp::Uri {
        uri_of_path(path)
    }

    fn published<'p>(
        out: &'p [lsp::PublishDiagnosticsParams],
        uri: &lsp::Uri,
    ) -> Option<&'p [lsp::Diagnostic]> {
        out.iter()
            .find(|p| p.uri == *uri)
            .map(|p| p.diagnostics.as_slice())
    }

    #[test]
    fn a_file_inserted_before_others_moves_their_spans_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let orders = dir.path().join("orders.topology.yaml");
        std::fs::write(&orders, ORDERS).unwrap();
        let mut ws = Workspace::new(vec![dir.path().to_path_buf()]);
        let first = ws.relint();
        let before = published(&first, &uri(&orders)).unwrap().to_vec();
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(before[0].range.start, lsp::Position::new(4, 8));

        // `a.topology.yaml` sorts first: `orders` becomes the second file, and its kept parse,
        // whose spans name the first, must not be reused.
        let a = dir.path().join("a.topology.yaml");
        assert!(ws.open(&uri(&a), 1, "topolint: 1\nservices:\n  a: {}\n".to_string()));
        let out = ws.relint();
        assert_eq!(published(&out, &uri(&a)), Some(&[][..]));
        // Unchanged diagnostics are not sent again.
        assert_eq!(published(&out, &uri(&orders)), None);
        let analysis = ws.analysis().unwrap();
        let d = &analysis.diagnostics[0];
        assert_eq!(analysis.loaded.sources.get(d.span.file).path, orders);
        assert_eq!(ws.file_id(&uri(&orders)), Some(d.span.file));
    }

    #[test]
    fn only_files_whose_diagnostics_changed_are_published() {
        let dir = tempfile::tempdir().unwrap();
        let orders = dir.path().join("orders.topology.yaml");
        let shop = dir.path().join("shop.topology.yaml");
        std::fs::write(&orders, ORDERS).unwrap();
        std::fs::write(&shop, "topolint: 1\nservices:\n  shop: {}\n").unwrap();
        let mut ws = Workspace::new(vec![dir.path().to_path_buf()]);
        assert_eq!(ws.relint().len(), 2, "every file at first");
        assert!(!ws.is_dirty());

        // A change to `shop` that leaves `orders` alone publishes `shop` only.
        let text = "topolint: 1\nservices:\n  shop:\n    calls:\n      - to: orders\n        timeout: 1s\n        circuit_breaker: true\n";
        ws.open(&uri(&shop), 1, text.to_string());
        assert!(ws.is_dirty());
        let out = ws.relint();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].version, Some(1));

        // Breaking the reference stops the rules: `orders` loses its S102 and is published.
        let broken = text.replace("to: orders", "to: ordrs");
        ws.change(
            &uri(&shop),
            2,
            vec![lsp::TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: broken,
            }],
        );
        let out = ws.relint();
        assert_eq!(published(&out, &uri(&orders)), Some(&[][..]));
        let shop_diagnostics = published(&out, &uri(&shop)).unwrap();
        assert_eq!(
            shop_diagnostics[0].code,
            Some(lsp::NumberOrString::String("T003".into()))
        );
    }

    #[test]
    fn incremental_changes_are_applied_in_utf16_units() {
        let dir = tempfile::tempdir().unwrap();
        let shop = dir.path().join("shop.topology.yaml");
        let mut ws = Workspace::new(vec![dir.path().to_path_buf()]);
        let text = "topolint: 1\nservices:\n  shop: { description: \"🛒\", calls: [{ to: x }] }\n";
        ws.open(&uri(&shop), 1, text.to_string());
        // Replace `x` (after a character of two UTF-16 units) with `shop`.
        let line = text.lines().nth(2).unwrap();
        let col = line[..line.find("x }").unwrap()].encode_utf16().count() as u32;
        ws.change(
            &uri(&shop),
            2,
            vec![lsp::TextDocumentContentChangeEvent {
                range: Some(lsp::Range::new(
                    lsp::Position::new(2, col),
                    lsp::Position::new(2, col + 1),
                )),
                range_length: None,
                text: "shop".to_string(),
            }],
        );
        ws.relint();
        let analysis = ws.analysis().unwrap();
        assert!(
            analysis.loaded.sources.files[0]
                .text
                .contains("calls: [{ to: shop }]"),
            "{}",
            analysis.loaded.sources.files[0].text
        );
    }
}
