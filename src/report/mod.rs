//! Rendering a lint run in the output formats of `check`.

pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::diagnostic::{Diagnostic, Severity};
use crate::lints::engine::Suppressed;
use crate::source::Sources;

/// The output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Concise,
    Json,
    Sarif,
    Github,
}

/// What every format renders.
pub struct Report<'a> {
    pub sources: &'a Sources,
    pub diagnostics: &'a [Diagnostic],
    pub suppressed: &'a [Suppressed],
}

/// Findings counted by severity.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut c = Counts::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `2 errors, 3 warnings in 4 files`.
pub fn summary(report: &Report) -> String {
    let c = Counts::of(report.diagnostics);
    let files = plural(report.sources.files.len(), "file");
    let mut parts = Vec::new();
    if c.errors > 0 {
        parts.push(plural(c.errors, "error"));
    }
    if c.warnings > 0 {
        parts.push(plural(c.warnings, "warning"));
    }
    if c.infos > 0 {
        parts.push(plural(c.infos, "info"));
    }
    let mut line = if parts.is_empty() {
        format!("no problems in {files}")
    } else {
        format!("{} in {files}", parts.join(", "))
    };
    if !report.suppressed.is_empty() {
        line.push_str(&format!(
            " ({} suppressed by `allow`)",
            report.suppressed.len()
        ));
    }
    line
}

/// Renders a report in a format. `color` only affects the human format.
pub fn render(format: Format, report: &Report, color: bool) -> String {
    match format {
        Format::Human => human::render(report, color, human::WIDTH),
        Format::Concise => concise::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}

/// Counts per rule, most frequent first, as ruff's `--statistics` prints them.
pub fn statistics(report: &Report) -> String {
    let mut counts: Vec<(&str, &str, usize)> = Vec::new();
    for d in report.diagnostics {
        match counts.iter_mut().find(|(code, ..)| *code == d.code) {
            Some(entry) => entry.2 += 1,
            None => counts.push((d.code, d.name, 1)),
        }
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let mut out = String::new();
    for (code, name, n) in counts {
        out.push_str(&format!("{n:>6}  {code}  {name}\n"));
    }
    out
}

/// Writes a file through a temporary file in the same directory and a rename, so that readers
/// never see half a report.
pub fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    write_atomically_with(path, |out| out.write_all(text.as_bytes()))
}

/// [`write_atomically`], with the content written by `write` (through a buffer).
///
/// Only a regular file (or a path that does not exist yet) is replaced by a rename. Anything
/// else that exists, such as `/dev/null`, `/dev/stdout` or a named pipe, is written to in place:
/// a rename would put a regular file where the device or pipe was. A symbolic link to a regular
/// file keeps the link: the file it points to is the one replaced.
pub fn write_atomically_with(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let target = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
            write(&mut out)?;
            return out.flush();
        }
        Ok(_) if path.is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let path = target.as_path();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
    write(&mut buffered)?;
    buffered.flush()?;
    drop(buffered);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
