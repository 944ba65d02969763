//! The JSON report, `"version": 1`: the stable shape tools read (documented in the README).

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::source::{Sources, Span};

use super::{Counts, Report};

#[derive(Serialize)]
pub struct JsonSpan {
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
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

#[derive(Serialize)]
struct JsonRelated<'a> {
    file: &'a str,
    span: JsonSpan,
    label: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    name: &'a str,
    severity: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    file: &'a str,
    span: JsonSpan,
    related: Vec<JsonRelated<'a>>,
    path: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSuppressed<'a> {
    #[serde(flatten)]
    diagnostic: JsonDiagnostic<'a>,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    suppressed: usize,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: JsonTool,
    summary: JsonSummary,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    suppressed: Vec<JsonSuppressed<'a>>,
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
    let mut out = serde_json::to_string_pretty(&json).expect("the report serializes");
    out.push('\n');
    out
}
