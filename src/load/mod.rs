//! Loading: files → one span-preserving parse each → [`Document`]s → the merged, resolved
//! [`Model`]. Problems become T-coded diagnostics; only unreadable paths are hard errors.

mod decode;
mod events;
mod resolve;
mod split;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::lints::meta;
use crate::model::{CallOptions, Document, Model, RequestOptions, Targets};
use crate::source::{FileId, SourceFile, Sources, Span};

pub use decode::FIELDS;
pub use events::Plain;

/// Bounds on what one load may consume; each is a flag of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_size: u64,
    /// Deepest nesting of mappings and lists.
    pub max_depth: usize,
    /// Most events that aliases may expand to, per file.
    pub max_alias_expansion: usize,
    /// Most named nodes in the whole topology.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_size: 128 * 1024 * 1024,
            max_depth: 64,
            max_alias_expansion: 1_000_000,
            max_nodes: 2_000_000,
        }
    }
}

/// A path that could not be read at all (exit code 2, one line).
#[derive(Debug)]
pub struct ReadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ReadError {}

/// The result of loading: the files, the model, and the T-coded problems.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
    /// What the model's references name, as the load found them, for building its graph once
    /// ([`crate::graph::Graph::build_from`]); `None` once taken, or when the model is too large
    /// to index.
    pub targets: Option<Targets>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_load_error)
    }

    /// The model's graph, from what the load found its references name when it still has that
    /// (taken: the first call uses it), by looking them up otherwise.
    pub fn build_graph(&mut self) -> crate::graph::Graph {
        match self.targets.take() {
            Some(targets) => crate::graph::Graph::build_from(&self.model, targets),
            None => crate::graph::Graph::build(&self.model),
        }
    }
}

/// Whether a file name marks a topology file in a directory search.
pub fn is_topology_file(name: &str) -> bool {
    name == "topology.yaml" || name.ends_with(".topology.yaml") || name.ends_with(".topology.yml")
}

/// The topology files named by `paths`: files as given, directories searched recursively (hidden
/// directories skipped), in a stable order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| ReadError {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            let entry = entry.map_err(|e| ReadError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if entry.file_type().is_file() && is_topology_file(&entry.file_name().to_string_lossy())
            {
                files.push(entry.into_path());
            }
        }
    }
    files.dedup();
    Ok(files)
}

/// How a path is shown in diagnostics: relative to the working directory where it can be, `/`.
pub fn display_name(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let shown = shown.strip_prefix("./").unwrap_or(shown);
    shown.to_string_lossy().replace('\\', "/")
}

/// Reads one file within the size limit. Binary and non-UTF-8 content becomes a T001 diagnostic.
pub fn read_file(
    path: &Path,
    limits: &Limits,
) -> Result<(SourceFile, Option<(usize, String)>), ReadError> {
    let err = |e: std::io::Error| ReadError {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let name = display_name(path);
    let file = fs::File::open(path).map_err(err)?;
    let too_big = |len: u64| {
        let message = format!(
            "the file is {} MiB, larger than the limit of {} MiB; raise it with --max-file-size",
            len.div_ceil(1024 * 1024),
            limits.max_file_size / (1024 * 1024)
        );
        (
            SourceFile::new(path.to_path_buf(), name.clone(), String::new()),
            Some((0, message)),
        )
    };
    // The size is checked before reading, and the read is capped too (for pipes and devices).
    let len = file.metadata().map_err(err)?.len();
    if len > limits.max_file_size {
        return Ok(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(limits.max_file_size + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > limits.max_file_size {
        let message = format!(
            "the file is larger than the limit of {} MiB; raise it with --max-file-size",
            limits.max_file_size / (1024 * 1024)
        );
        return Ok((
            SourceFile::new(path.to_path_buf(), name, String::new()),
            Some((0, message)),
        ));
    }
    Ok(from_bytes(path.to_path_buf(), name, bytes))
}

/// Turns bytes into a source file, flagging binary and non-UTF-8 content.
pub fn from_bytes(
    path: PathBuf,
    name: String,
    bytes: Vec<u8>,
) -> (SourceFile, Option<(usize, String)>) {
    // memchr: a byte-at-a-time search took 15 ms of a 31 MB file, before parsing could start.
    if let Some(nul) = memchr::memchr(0, &bytes) {
        let message =
            format!("binary file (a NUL byte at offset {nul}): a topology file is YAML text");
        return (
            SourceFile::new(path, name, String::new()),
            Some((0, message)),
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => (SourceFile::new(path, name, text), None),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let message = format!("the file is not valid UTF-8 (invalid byte at offset {at})");
            (SourceFile::new(path, name, text), Some((at, message)))
        }
    }
}

/// Loads the topology made of `paths` (files and directories).
pub fn load_paths(paths: &[PathBuf], limits: &Limits) -> Result<Loaded, ReadError> {
    let files = discover(paths)?;
    let mut sources = Sources::default();
    let mut unreadable = Vec::new();
    for path in &files {
        let (file, problem) = read_file(path, limits)?;
        let id = sources.add(file);
        if let Some(problem) = problem {
            unreadable.push((id, problem));
        }
    }
    Ok(load_sources(sources, &unreadable, limits))
}

/// The span of an unreadable file's problem at `offset`: the offending character, which in the
/// lossy text is a U+FFFD of three bytes (one byte would end inside it), or an empty span.
pub fn unreadable_span(file: &SourceFile, id: FileId, offset: usize) -> Span {
    let end = file
        .text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(offset, |c| offset + c.len_utf8());
    Span::new(id, offset, end)
}

/// Loads already-read sources (the language server's open documents go through here too).
/// `unreadable` lists files that must not be parsed, with the offset and message of the problem.
pub fn load_sources(
    sources: Sources,
    unreadable: &[(FileId, (usize, String))],
    limits: &Limits,
) -> Loaded {
    let files: Vec<(FileId, &SourceFile)> = sources
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| (FileId::new(i as u32), file))
        .collect();
    let parse =
        |files: &[(FileId, &SourceFile)]| -> Vec<(FileId, Option<Document>, Vec<Diagnostic>)> {
            files
                .iter()
                .map(
                    |&(id, file)| match unreadable.iter().find(|(f, _)| *f == id) {
                        Some((_, (offset, message))) => {
                            let span = unreadable_span(file, id, *offset);
                            let problem =
                                Diagnostic::new(&meta::YAML_SYNTAX, span, message.clone());
                            (id, None, vec![problem])
                        }
                        None => {
                            let (doc, problems) = parse_document(file, id, limits);
                            (id, doc, problems)
                        }
                    },
                )
                .collect()
        };
    // Many files are parsed in two halves of about the same size at once (a large file is
    // already parsed beside its decoding); the results keep the files' order.
    let total: usize = files.iter().map(|(_, f)| f.text.len()).sum();
    let parsed = if files.len() >= 2 && total >= PARALLEL_FILES_MIN_BYTES {
        let mut seen = 0;
        let middle = files
            .iter()
            .position(|(_, f)| {
                seen += f.text.len();
                seen * 2 >= total
            })
            .map_or(1, |i| (i + 1).clamp(1, files.len() - 1));
        crate::parallel::in_two(&files, middle, parse)
    } else {
        parse(&files)
    };
    let mut diagnostics = Vec::new();
    let mut documents = Vec::with_capacity(parsed.len());
    for (id, doc, mut problems) in parsed {
        diagnostics.append(&mut problems);
        if let Some(doc) = doc {
            documents.push((id, doc));
        }
    }
    let (model, targets) = resolve::merge(documents, &mut diagnostics, limits);
    Loaded {
        sources,
        model,
        diagnostics,
        targets,
    }
}

/// Merges documents parsed one by one with [`parse_document`], as [`load_sources`] does after
/// parsing: the language server keeps every file's parse and redoes only the changed file's.
/// `diagnostics` holds the parse problems of all files.
pub fn merge_documents(
    sources: Sources,
    documents: Vec<(FileId, Document)>,
    mut diagnostics: Vec<Diagnostic>,
    limits: &Limits,
) -> Loaded {
    let (model, targets) = resolve::merge(documents, &mut diagnostics, limits);
    Loaded {
        sources,
        model,
        diagnostics,
        targets,
    }
}

/// Parses one file into a document with its defaults applied. `None` after a fatal error.
pub fn parse_document(
    file: &SourceFile,
    id: FileId,
    limits: &Limits,
) -> (Option<Document>, Vec<Diagnostic>) {
    let cores = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if cores
        && file.text.len() >= SPLIT_MIN_BYTES
        && let Some(doc) = parse_document_split(file, id, limits, None)
    {
        return (Some(doc), Vec::new());
    }
    parse_document_with(
        file,
        id,
        limits,
        cores && file.text.len() >= PIPELINE_MIN_BYTES,
    )
}

/// Files from this size on are read in two parts at once (`load::split`): below it, the second
/// thread and the line scan cost more than they save.
pub const SPLIT_MIN_BYTES: usize = 1024 * 1024;

/// Reads a file in two parts at once, whatever its size: its document (defaults applied) when
/// the file has a section to cut and the parts read without a single problem; `None` when it
/// must be read in one piece (which then reports the problems). The cut is at the first entry
/// from byte `aim` on (tests try every place), or where the parts are of a size.
pub fn parse_document_split(
    file: &SourceFile,
    id: FileId,
    limits: &Limits,
    aim: Option<usize>,
) -> Option<Document> {
    let plan = split::plan(&file.text, aim)?;
    let mut doc = std::thread::scope(|scope| {
        if plan.ascii {
            // As when piped: the line index is built meanwhile (non-ASCII text builds it at once,
            // for the spans).
            let _ = std::thread::Builder::new().spawn_scoped(scope, || file.lines());
        }
        split::parse(file, id, limits, &plan)
    })?;
    apply_defaults(&mut doc);
    Some(doc)
}

/// Topologies of several files from this total size on have their files parsed in two halves at
/// once.
pub const PARALLEL_FILES_MIN_BYTES: usize = 256 * 1024;

/// Files from this size on are parsed on a thread of their own while the events are decoded: below
/// it, starting a thread costs more than the overlap saves (a 64 KiB file parses in about 2 ms).
pub const PIPELINE_MIN_BYTES: usize = 64 * 1024;

/// [`parse_document`], with the parser on its own thread (`piped`) or not, whatever the file's size.
pub fn parse_document_with(
    file: &SourceFile,
    id: FileId,
    limits: &Limits,
    piped: bool,
) -> (Option<Document>, Vec<Diagnostic>) {
    if !piped {
        let ev = events::Events::new(file, id, *limits);
        return decode_document(ev);
    }
    let spanner = events::Spanner::new(file, id);
    std::thread::scope(|scope| {
        if !spanner.needs_lines() {
            // Nothing here needs the line index until diagnostics are shown: build it meanwhile,
            // in the time the decoder spends waiting for the parser. Without a thread it is
            // built on first use.
            let _ = std::thread::Builder::new().spawn_scoped(scope, || file.lines());
        }
        // A few batches in flight: the parser runs ahead of the decoder by at most that much.
        let (tx, rx) = std::sync::mpsc::sync_channel(8);
        let parser = std::thread::Builder::new()
            .name("topolint-parse".into())
            .spawn_scoped(scope, move || events::produce(spanner, tx));
        if parser.is_err() {
            // No thread to be had (a process limit): parse here instead.
            return decode_document(events::Events::new(file, id, *limits));
        }
        // The reader, and with it the receiver, is dropped when decoding ends, which stops the
        // parser if the decoder quit early (a limit): the scope then joins it.
        decode_document(events::Events::piped(spanner, rx, *limits))
    })
}

fn decode_document(ev: events::Events<'_>) -> (Option<Document>, Vec<Diagnostic>) {
    let mut decoder = decode::Decoder::new(ev);
    match decoder.document() {
        Ok(mut doc) => {
            apply_defaults(&mut doc);
            (Some(doc), decoder.diagnostics)
        }
        Err(fatal) => {
            let mut diagnostics = decoder.diagnostics;
            diagnostics.push(*fatal.0);
            (None, diagnostics)
        }
    }
}

/// Fills what each call and request leaves unset from the file's `defaults`, keeping the span of
/// the default so that a diagnostic about the value points where it was written.
fn apply_defaults(doc: &mut Document) {
    let Some(defaults) = doc.defaults.clone() else {
        return;
    };
    for service in &mut doc.services {
        if let Some(d) = &defaults.calls {
            for call in &mut service.calls {
                fill_call(&mut call.options, d);
            }
        }
        if let Some(d) = &defaults.requests {
            for request in &mut service.requests {
                fill_request(&mut request.options, d);
            }
        }
    }
}

fn fill<T: Clone>(slot: &mut Option<T>, default: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(default);
    }
}

fn fill_call(o: &mut CallOptions, d: &CallOptions) {
    fill(&mut o.protocol, &d.protocol);
    fill(&mut o.timeout, &d.timeout);
    fill(&mut o.retries, &d.retries);
    fill(&mut o.circuit_breaker, &d.circuit_breaker);
    fill(&mut o.fan_out, &d.fan_out);
    fill(&mut o.batch, &d.batch);
    fill(&mut o.in_transaction, &d.in_transaction);
    fill(&mut o.needs, &d.needs);
}

fn fill_request(o: &mut RequestOptions, d: &RequestOptions) {
    fill(&mut o.reply, &d.reply);
    fill(&mut o.message, &d.message);
    fill(&mut o.timeout, &d.timeout);
    fill(&mut o.needs, &d.needs);
}

/// Reads every event of a file through the loader's event reader (spans, depth and alias
/// accounting) without decoding: the benchmark uses it to tell the reader's cost from the
/// decoder's. Returns the number of events, or `None` on a syntax error.
#[doc(hidden)]
pub fn drain_events(file: &SourceFile, limits: &Limits) -> Option<usize> {
    let mut ev = events::Events::new(file, FileId::new(0), *limits);
    let mut n = 0;
    loop {
        let e = ev.next().ok()?;
        n += 1;
        if matches!(e.event, saphyr_parser::Event::StreamEnd) {
            return Some(n);
        }
    }
}

/// Loads one topology given as text, asserting that it loads: for the unit tests of the rules and
/// of the advisor.
#[cfg(test)]
pub(crate) fn load_test_text(yaml: &str) -> Loaded {
    let mut sources = Sources::default();
    let name = "test.topology.yaml";
    let (file, problem) = from_bytes(name.into(), name.into(), yaml.as_bytes().to_vec());
    assert!(problem.is_none(), "{problem:?}");
    sources.add(file);
    let loaded = load_sources(sources, &[], &Limits::default());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded
}
