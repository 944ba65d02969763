//! The JSON report, `"version": 1`: the stable shape tools read, documented in
//! `docs/json-report.md`. The structs derive their JSON Schema (`schema/report.schema.json`), so
//! the doc comments here are the schema's descriptions.

use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::source::{Sources, Span};

use super::{Counts, Report};

/// Where a finding is: byte offsets, and 1-based lines and columns (columns count characters).
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct JsonSpan {
    /// Byte offset of the first byte, from the start of the file.
    pub start: u32,
    /// Byte offset just past the last byte (equal to `start` for an empty span).
    pub end: u32,
    /// Line of `start`, from 1.
    #[schemars(range(min = 1))]
    pub line: u32,
    /// Column of `start` in characters (Unicode scalar values), from 1.
    #[schemars(range(min = 1))]
    pub column: u32,
    /// Line of `end`, from 1.
    #[schemars(range(min = 1))]
    pub end_line: u32,
    /// Column of `end` in characters, from 1: the column just past the span.
    #[schemars(range(min = 1))]
    pub end_column: u32,
}

impl JsonSpan {
    pub fn new(sources: &Sources, span: Span) -> JsonSpan {
        let (start, end) = sources.range(span);
        JsonSpan {
            start: span.start,
            end: span.end,
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
        }
    }
}

/// A span shown beside the primary one: a hop of a chain, the other side of a duplicate.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JsonRelated<'a> {
    /// The file of the span, as `file` of a diagnostic names it.
    file: &'a str,
    span: JsonSpan,
    /// What this span is (`calls orders`, `first defined here`).
    label: &'a str,
}

/// One finding or loading problem.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JsonDiagnostic<'a> {
    /// The rule's code: a letter and three digits (`S102`).
    #[schemars(regex(pattern = r"^[A-Z][0-9]{3}$"))]
    code: &'a str,
    /// The rule's name, in kebab case (`missing-timeout`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"))]
    name: &'a str,
    /// The severity after configuration: `error`, `warning` or `info`.
    #[schemars(with = "SeverityName")]
    severity: &'a str,
    /// What is wrong, lower case, without a trailing period, naming the nodes.
    message: &'a str,
    /// The fix, with the YAML to write where it fits; `null` when the rule gives none.
    #[schemars(required, with = "NullableText")]
    help: Option<&'a str>,
    /// The file, as given on the command line or found under a directory, with `/` separators.
    file: &'a str,
    span: JsonSpan,
    /// Related spans, in the order the finding tells them (the hops of a chain in order).
    related: Vec<JsonRelated<'a>>,
    /// The node or edge the finding is about, as `allow: at:` accepts it
    /// (`services.web.calls[0]`); `null` for problems that are not about one (most loading
    /// problems).
    #[schemars(required, with = "NullableText")]
    path: Option<&'a str>,
}

/// The severities, as they appear in the report.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
enum SeverityName {
    Error,
    Warning,
    Info,
}

/// A finding silenced by an `allow` entry of the topology: a diagnostic and the entry's reason.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JsonSuppressed<'a> {
    #[serde(flatten)]
    diagnostic: JsonDiagnostic<'a>,
    /// The `reason` of the `allow` entry that silenced it.
    reason: &'a str,
}

/// The program that wrote the report.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JsonTool {
    /// Always `topolint`.
    #[schemars(with = "ToolName")]
    name: &'static str,
    /// topolint's version (semantic versioning).
    version: &'static str,
}

/// The tool's name.
#[derive(JsonSchema)]
#[allow(dead_code)] // only its schema is used
enum ToolName {
    #[serde(rename = "topolint")]
    Topolint,
}

/// Counts over the whole run.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct JsonSummary {
    /// Topology files read.
    files: usize,
    /// Entries of `diagnostics` with severity `error`.
    errors: usize,
    /// Entries of `diagnostics` with severity `warning`.
    warnings: usize,
    /// Entries of `diagnostics` with severity `info`.
    infos: usize,
    /// Entries of `suppressed`.
    suppressed: usize,
}

/// The JSON report of `topolint check --format json`.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "topolint JSON report, version 1")]
struct JsonReport<'a> {
    /// The report format's version; changes only when a field changes meaning or goes away.
    #[schemars(with = "ReportVersion")]
    version: u32,
    tool: JsonTool,
    summary: JsonSummary,
    /// Findings and loading problems, sorted by file, then position, then code.
    diagnostics: Vec<JsonDiagnostic<'a>>,
    /// Findings silenced by `allow` entries, in the same order.
    suppressed: Vec<JsonSuppressed<'a>>,
}

/// A string or `null`: serde writes `None` as `null`, which schemars's `Option` schema leaves out.
struct NullableText;

impl JsonSchema for NullableText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NullableText".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "null"] })
    }
}

/// Version 1 of the report.
struct ReportVersion;

impl JsonSchema for ReportVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReportVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "const": 1 })
    }
}

/// The JSON Schema of the report, as committed in `schema/report.schema.json`.
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<JsonReport>();
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// [`schema`] as text, ending with a newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a schema is JSON");
    text.push('\n');
    text
}

fn diagnostic<'a>(sources: &'a Sources, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
    JsonDiagnostic {
        code: d.code,
        name: d.name,
        severity: d.severity.as_str(),
        message: &d.message,
        help: d.help.as_deref(),
        file: &sources.get(d.span.file).name,
        span: JsonSpan::new(sources, d.span),
        related: d
            .related
            .iter()
            .map(|r| JsonRelated {
                file: &sources.get(r.span.file).name,
                span: JsonSpan::new(sources, r.span),
                label: &r.label,
            })
            .collect(),
        path: d.path.as_deref(),
    }
}

pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// [`render`], written straight to `out`: a large report is never held whole in memory.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let counts = Counts::of(report.diagnostics);
    let json = JsonReport {
        version: 1,
        tool: JsonTool {
            name: "topolint",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: JsonSummary {
            files: report.sources.files.len(),
            errors: counts.errors,
            warnings: counts.warnings,
            infos: counts.infos,
            suppressed: report.suppressed.len(),
        },
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| diagnostic(report.sources, d))
            .collect(),
        suppressed: report
            .suppressed
            .iter()
            .map(|s| JsonSuppressed {
                diagnostic: diagnostic(report.sources, &s.diagnostic),
                reason: &s.reason,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    out.write_all(b"\n")
}
