//! The fuzzing oracle, shared by `tests/fuzz.rs` and the cargo-fuzz target in `fuzz/`: one
//! case (files and limits) through load, analyze, every output format, the drawings, the
//! baseline and the LSP's position arithmetic, and what must hold of the result.
#![allow(dead_code)]

use std::path::PathBuf;

use clap::ValueEnum;
use serde_json::Value;
use topolint::baseline::Baseline;
use topolint::lints::engine::RuleConfig;
use topolint::load::{self, Limits};
use topolint::report::{self, Format, Report};
use topolint::source::{SourceFile, Sources, Span};
use topolint::{Analysis, analyze, draw};

// ---------------------------------------------------------------------------------------------
// Cases

/// One input: one or more files, loaded together, under one of the limit profiles.
#[derive(Clone, Debug)]
pub struct Case {
    pub files: Vec<(String, Vec<u8>)>,
    pub limits: Limits,
}

/// The limit profiles: the defaults, and tight ones that make every limit reachable by small
/// inputs. A kept input is replayed under all of them.
pub fn profiles() -> [Limits; 2] {
    [
        Limits::default(),
        Limits {
            max_file_size: 1024 * 1024,
            max_depth: 6,
            max_alias_expansion: 40,
            max_nodes: 12,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The oracle

/// Runs one case through everything; `Err` names the broken property.
/// Each readable file decodes the same with the parser on its own thread as inline, and read in
/// two parts at once as in one (large files are piped or cut by default; fuzz inputs are mostly
/// small, so every way is forced here).
fn check_piped(
    sources: &Sources,
    unreadable: &[(topolint::source::FileId, (usize, String))],
    limits: &load::Limits,
) -> Result<(), String> {
    for (i, file) in sources.files.iter().enumerate() {
        let id = topolint::source::FileId::new(i as u32);
        if unreadable.iter().any(|(f, _)| *f == id) {
            continue;
        }
        let inline = load::parse_document_with(file, id, limits, false);
        let piped = load::parse_document_with(file, id, limits, true);
        if format!("{inline:?}") != format!("{piped:?}") {
            return Err(format!(
                "{}: the piped parse decoded otherwise than the inline one",
                file.name
            ));
        }
        // Read in two parts, cut near a quarter, the middle and three quarters: declined, or
        // exactly the inline document of a file without problems.
        for quarter in 1..4 {
            let aim = file.text.len() * quarter / 4;
            if let Some(doc) = load::parse_document_split(file, id, limits, Some(aim))
                && (!inline.1.is_empty() || format!("{:?}", Some(doc)) != format!("{:?}", inline.0))
            {
                return Err(format!(
                    "{}: read in two parts (cut near byte {aim}), it decoded otherwise than in one",
                    file.name
                ));
            }
        }
    }
    Ok(())
}

pub fn run_case(case: &Case, schema: &jsonschema::Validator) -> Result<Stats, String> {
    let mut sources = Sources::default();
    let mut unreadable = Vec::new();
    for (name, bytes) in &case.files {
        let (file, problem) = load::from_bytes(PathBuf::from(name), name.clone(), bytes.clone());
        let id = sources.add(file);
        if let Some(p) = problem {
            unreadable.push((id, p));
        }
    }
    check_piped(&sources, &unreadable, &case.limits)?;
    let loaded = load::load_sources(sources, &unreadable, &case.limits);
    let analysis = analyze(loaded, &RuleConfig::default());
    check_spans(&analysis)?;
    check_exit(&analysis)?;

    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    let mut output = 0;
    for &format in Format::value_variants() {
        let text = report::render(format, &report, false);
        check_output(format, &text, &analysis, schema)?;
        output += text.len();
    }
    output += report::render(Format::Human, &report, true).len();
    output += report::statistics(&report).len() + report::summary(&report).len();

    for &format in draw::Format::value_variants() {
        let options = draw::Options {
            format,
            ..draw::Options::default()
        };
        match draw::draw(&analysis, &options) {
            Ok(text) => output += text.len(),
            Err(e) if analysis.has_load_errors() => output += e.to_string().len(),
            Err(e) => return Err(format!("draw {format:?} failed on a loaded topology: {e}")),
        }
    }

    // The baseline: written, read back, and applied to the same findings, it hides all of them.
    let baseline = Baseline::of(&analysis.loaded.sources, &analysis.diagnostics);
    let text = baseline.to_text();
    Baseline::parse(&text).map_err(|e| format!("the baseline does not read back: {e}"))?;

    check_lsp(&analysis)?;
    if output > 256 * 1024 * 1024 {
        return Err(format!("{output} bytes of output"));
    }
    Ok(Stats {
        diagnostics: analysis.diagnostics.len(),
        load_errors: analysis.has_load_errors(),
        signature: signature(&analysis),
    })
}

pub struct Stats {
    pub diagnostics: usize,
    pub load_errors: bool,
    /// The codes and message shapes found: an input that finds a new one joins the corpus.
    pub signature: Vec<String>,
}

/// What kinds of result a case had: a loading problem's code and message with quoted parts and
/// numbers blanked, a finding's code and how many spans it relates (names vary too much to
/// count as new).
pub fn signature(analysis: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            if !d.is_load_error() {
                return format!("{} {}", d.code, d.related.len().min(8));
            }
            let mut shape = String::from(d.code);
            shape.push(' ');
            let mut quoted = false;
            for c in d.message.chars().take(200) {
                if c == '`' {
                    quoted = !quoted;
                    shape.push('`');
                } else if !quoted && !c.is_ascii_digit() {
                    shape.push(c);
                }
            }
            shape
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn check_span(sources: &Sources, span: Span, what: &str) -> Result<(), String> {
    let Some(file) = sources.files.get(span.file.index()) else {
        return Err(format!(
            "{what}: span in file {} of {}",
            span.file.index(),
            sources.files.len()
        ));
    };
    let (start, end) = (span.start as usize, span.end as usize);
    if start > end || end > file.text.len() {
        return Err(format!(
            "{what}: span {start}..{end} outside `{}` ({} bytes)",
            file.name,
            file.text.len()
        ));
    }
    if !file.text.is_char_boundary(start) || !file.text.is_char_boundary(end) {
        return Err(format!(
            "{what}: span {start}..{end} not on char boundaries"
        ));
    }
    Ok(())
}

pub fn check_spans(analysis: &Analysis) -> Result<(), String> {
    let sources = &analysis.loaded.sources;
    let suppressed = analysis.suppressed.iter().map(|s| &s.diagnostic);
    for d in analysis.diagnostics.iter().chain(suppressed) {
        let what = format!("{} `{}`", d.code, d.message);
        check_span(sources, d.span, &what)?;
        for r in &d.related {
            check_span(sources, r.span, &format!("{what}, related `{}`", r.label))?;
        }
    }
    for s in &analysis.suppressed {
        check_span(sources, s.allow, "an allow entry")?;
    }
    Ok(())
}

/// A T-coded problem is an error and makes `check` exit 2. A problem of loading stops linting:
/// without a graph there is no finding; the engine's own T-coded problems (an `allow` naming an
/// unknown rule) come with the findings, the exit code still 2.
pub fn check_exit(analysis: &Analysis) -> Result<(), String> {
    let t_coded: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code.starts_with('T'))
        .collect();
    if !t_coded.is_empty() && !analysis.has_load_errors() {
        return Err("T-coded problem without load errors (exit 2)".into());
    }
    if let Some(d) = t_coded
        .iter()
        .find(|d| d.severity != topolint::diagnostic::Severity::Error)
    {
        return Err(format!("{} is a {}, not an error", d.code, d.severity));
    }
    match &analysis.graph {
        None if !analysis.has_load_errors() => {
            Err("no T-coded problem, yet the topology was not linted".into())
        }
        None => match analysis.diagnostics.iter().find(|d| !d.is_load_error()) {
            Some(d) => Err(format!("finding {} without a linted topology", d.code)),
            None if !analysis.suppressed.is_empty() => Err("suppressed findings unlinted".into()),
            None => Ok(()),
        },
        Some(_) => Ok(()),
    }
}

/// What each format promises of its text. A new format must be added here.
pub fn check_output(
    format: Format,
    text: &str,
    analysis: &Analysis,
    schema: &jsonschema::Validator,
) -> Result<(), String> {
    match format {
        Format::Json => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("the JSON report does not parse: {e}"))?;
            if let Some(e) = schema.iter_errors(&value).next() {
                return Err(format!(
                    "the JSON report breaks its schema: {e} at {}",
                    e.instance_path()
                ));
            }
        }
        Format::Sarif => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("the SARIF report does not parse: {e}"))?;
            if value["version"] != "2.1.0" {
                return Err("the SARIF report is not version 2.1.0".into());
            }
        }
        Format::Concise => {
            let lines = text.lines().count();
            if lines != analysis.diagnostics.len() {
                return Err(format!(
                    "concise: {lines} lines for {} diagnostics",
                    analysis.diagnostics.len()
                ));
            }
        }
        Format::Github => {
            if let Some(line) = text.lines().find(|l| !l.starts_with("::")) {
                return Err(format!(
                    "github: a line that is no workflow command: {line:?}"
                ));
            }
        }
        Format::Human => {}
    }
    Ok(())
}

/// The language server's position conversions (`source::LineIndex`, as `lsp::convert` uses
/// them): every span's ends to a 0-based line and UTF-16 column, and back to the same offset.
pub fn check_lsp(analysis: &Analysis) -> Result<(), String> {
    let sources = &analysis.loaded.sources;
    for d in &analysis.diagnostics {
        let file = sources.get(d.span.file);
        for offset in [d.span.start, d.span.end] {
            round_trip(file, offset)?;
        }
        for r in &d.related {
            let file = sources.get(r.span.file);
            round_trip(file, r.span.start)?;
        }
    }
    Ok(())
}

pub fn round_trip(file: &SourceFile, offset: u32) -> Result<(), String> {
    let p = file.position(offset);
    let (line, character) = (p.line as usize - 1, p.utf16 as usize - 1);
    let back = file.lines().offset_of_utf16(&file.text, line, character);
    if back != offset as usize {
        return Err(format!(
            "LSP round trip: offset {offset} -> {line}:{character} -> {back}"
        ));
    }
    Ok(())
}

/// The JSON report's schema, compiled.
pub fn schema() -> jsonschema::Validator {
    let text = include_str!("../../schema/report.schema.json");
    jsonschema::validator_for(&serde_json::from_str(text).unwrap()).unwrap()
}
