//! `path:line:col: severity[CODE name] message`, one a line.

use crate::diagnostic::Diagnostic;
use crate::source::Sources;

use super::Report;

pub fn line(sources: &Sources, d: &Diagnostic) -> String {
    let file = sources.get(d.span.file);
    let pos = file.position(d.span.start);
    format!(
        "{}:{}:{}: {}[{} {}] {}",
        file.name,
        pos.line,
        pos.column,
        d.severity,
        d.code,
        d.name,
        one_line(&d.message)
    )
}

/// A message quotes the user's values, and a YAML scalar may hold line breaks: they are escaped
/// so that each finding stays on one line.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace('\r', "\\r").replace('\n', "\\n").into()
    } else {
        text.into()
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for d in report.diagnostics {
        out.push_str(&line(report.sources, d));
        out.push('\n');
    }
    out
}
