//! GitHub Actions workflow commands: `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::…`.

use super::Report;
use super::sarif::{Places, SourceRoot};

/// Escapes a property value (`%`, CR, LF, `:` and `,`).
fn property(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Escapes the message (`%`, CR, LF).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The workflow commands of a report, with file names relative to the repository around the
/// working directory (what GitHub matches annotations against, wherever the job `cd`s to).
pub fn render(report: &Report) -> String {
    render_with_root(report, &SourceRoot::discover())
}

pub fn render_with_root(report: &Report, root: &SourceRoot) -> String {
    let mut out = String::new();
    let places = Places::new(root, report.sources);
    for d in report.diagnostics {
        let file = report.sources.get(d.span.file);
        let (start, end) = report.sources.range(d.span);
        let command = match d.severity {
            crate::diagnostic::Severity::Error => "error",
            crate::diagnostic::Severity::Warning => "warning",
            crate::diagnostic::Severity::Info => "notice",
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push('\n');
            message.push_str(help);
        }
        let name = places.relative(d.span.file).unwrap_or(&file.name);
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(name),
            start.line,
            start.column,
            end.line,
            end.column,
            property(&format!("{} {}", d.code, d.name)),
            data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_escape_what_would_end_them() {
        assert_eq!(property("a:b,c%d\r\ne"), "a%3Ab%2Cc%25d%0D%0Ae");
        // `%` first, so that the escapes themselves are not escaped again.
        assert_eq!(property("%3A"), "%253A");
    }

    #[test]
    fn messages_keep_colons_and_commas_but_not_newlines() {
        assert_eq!(data("a: b, c\n100%\r"), "a: b, c%0A100%25%0D");
    }
}
