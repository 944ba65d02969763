//! `path:line:col: severity[CODE name] message`, one a line.

use crate::diagnostic::Diagnostic;
use crate::source::Sources;

use super::Report;

pub fn line(sources: &Sources, d: &Diagnostic) -> String {
    let file = sources.get(d.span.file);
    let pos = file.position(d.span.start);
    format!(
        "{}:{}:{}: {}[{} {}] {}",
        file.name, pos.line, pos.column, d.severity, d.code, d.name, d.message
    )
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for d in report.diagnostics {
        out.push_str(&line(report.sources, d));
        out.push('\n');
    }
    out
}
