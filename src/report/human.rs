//! The human report: miette's graphical rendering. miette is used here and nowhere else.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use textwrap::WordSeparator;
use textwrap::core::Word;
use textwrap::wrap_algorithms::wrap_first_fit;

use crate::diagnostic::{Diagnostic, Severity};
use crate::parallel;
use crate::source::{SourceFile, Sources, Span};

use super::Report;

/// A file as miette reads it: slices found through the line index, so rendering a diagnostic
/// costs the lines shown, not the file's size.
struct FileCode<'a> {
    file: &'a SourceFile,
}

impl SourceCode for FileCode<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text = &self.file.text;
        let lines = &self.file.lines();
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let Window {
            first_line,
            from_line,
            to_line,
            data_start,
            data_end,
        } = Window::new(self.file, start, end, before, after);
        let column = if before == 0 {
            text[lines.line_start(first_line) as usize..start]
                .chars()
                .count()
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.name.clone(),
            &text.as_bytes()[data_start..data_end],
            (data_start, data_end - data_start).into(),
            from_line,
            column,
            to_line - from_line + 1,
        )))
    }
}

/// The lines shown around a span: `before` lines above its first line and `after` below its
/// last, as line numbers (0-based) and as the bytes they take.
struct Window {
    first_line: usize,
    from_line: usize,
    to_line: usize,
    data_start: usize,
    data_end: usize,
}

impl Window {
    /// For `start..end` (within the text) in `file`.
    fn new(file: &SourceFile, start: usize, end: usize, before: usize, after: usize) -> Window {
        let lines = file.lines();
        let first_line = lines.line_of(start as u32);
        let last_line = lines.line_of(end.saturating_sub(1).max(start) as u32);
        let from_line = first_line.saturating_sub(before);
        let to_line = (last_line + after).min(lines.line_count() - 1);
        let data_end = if to_line + 1 < lines.line_count() {
            lines.line_start(to_line + 1) as usize
        } else {
            file.text.len()
        };
        Window {
            first_line,
            from_line,
            to_line,
            data_start: lines.line_start(from_line) as usize,
            data_end,
        }
    }
}

fn source_span(span: Span) -> SourceSpan {
    (span.start as usize, span.len()).into()
}

/// One diagnostic as miette sees it. Related spans in other files become related reports.
struct Shown<'a> {
    d: &'a Diagnostic,
    /// The message and the help, wrapped for miette (see [`wrap`]).
    message: String,
    help: Option<String>,
    code: FileCode<'a>,
    /// Related spans in other files, each its own advice.
    elsewhere: Vec<Elsewhere<'a>>,
    header: String,
}

struct Elsewhere<'a> {
    code: FileCode<'a>,
    span: Span,
    label: String,
    /// `label (in file)`, wrapped for miette.
    message: String,
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for Shown<'_> {}

impl miette::Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.header))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.code)
    }
    /// Labels in the primary file, the primary first; made when miette asks (a report drawn
    /// without miette needs none).
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.d;
        let primary = LabeledSpan::new_primary_with_span(d.label.clone(), source_span(d.span));
        let related = d
            .related
            .iter()
            .filter(move |r| r.span.file == d.span.file)
            .map(|r| LabeledSpan::new_with_span(Some(r.label.clone()), source_span(r.span)));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.elsewhere.is_empty() {
            return None;
        }
        Some(Box::new(
            self.elsewhere.iter().map(|e| e as &dyn miette::Diagnostic),
        ))
    }
}

impl fmt::Debug for Elsewhere<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}
impl fmt::Display for Elsewhere<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for Elsewhere<'_> {}
impl miette::Diagnostic for Elsewhere<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.code)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            source_span(self.span),
        ))))
    }
}

fn shown<'a>(sources: &'a Sources, d: &'a Diagnostic, width: usize) -> Shown<'a> {
    let (message_width, help_width) = text_widths(width);
    let file = sources.get(d.span.file);
    let mut elsewhere = Vec::new();
    for r in d.related.iter().filter(|r| r.span.file != d.span.file) {
        let file = sources.get(r.span.file);
        elsewhere.push(Elsewhere {
            code: FileCode { file },
            span: r.span,
            label: r.label.clone(),
            message: wrap(&format!("{} (in {})", r.label, file.name), message_width),
        });
    }
    Shown {
        d,
        message: wrap(&d.message, message_width),
        help: d.help.as_ref().map(|h| wrap(h, help_width)),
        code: FileCode { file },
        elsewhere,
        header: format!("{}[{} {}]", d.severity, d.code, d.name),
    }
}

/// miette pads its underlines with a format width, which panics past 65,535 columns; a span that
/// far along its line (a minified or generated file) is shown as the concise line instead.
/// Counted in bytes from the last `\n`, as miette splits lines (a lone `\r` starts a line for
/// the line index, not for miette); tabs and wide characters take at most 4 columns a byte.
const MAX_COLUMN: usize = 10_000;

fn placeable(sources: &Sources, d: &Diagnostic) -> bool {
    std::iter::once(d.span)
        .chain(d.related.iter().map(|r| r.span))
        .all(|span| {
            let text = &sources.get(span.file).text;
            // A file whose text could not be read again shows no lines.
            span.end as usize <= text.len()
                && [span.start, span.end].into_iter().all(|offset| {
                    let before = text.as_bytes().get(..offset as usize).unwrap_or_default();
                    let line_start = before
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    before.len() - line_start <= MAX_COLUMN
                })
        })
}

/// The width the report is laid out for.
pub const WIDTH: usize = 100;

/// Renders the report; `color` picks the themed or the plain rendering.
pub fn render(report: &Report, color: bool, width: usize) -> String {
    let mut out = Vec::new();
    write(report, color, width, true, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the report is text")
}

/// Findings rendered per block: a block is written out before the next is rendered, so that a
/// large report is never held whole (at 100k services it is 13 MB of text).
const BLOCK: usize = 1024;

/// Blocks of at least this many findings are rendered in two halves at once: miette takes about
/// 30 µs a finding, and a thread costs less than a few of them.
const PARALLEL_MIN: usize = 256;

/// Writes the report to `out` as [`render`] makes it, the summary line last when `summary`.
pub fn write(
    report: &Report,
    color: bool,
    width: usize,
    summary: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    for block in report.diagnostics.chunks(BLOCK) {
        let rendered = parallel::in_halves(block, PARALLEL_MIN, |part| {
            vec![render_part(report.sources, part, color, width)]
        });
        for text in rendered {
            out.write_all(text.as_bytes())?;
        }
    }
    if summary {
        writeln!(out, "{}", super::summary(report))?;
    }
    Ok(())
}

/// The characters beyond ASCII that the rules' texts use, each one column wide, which Unicode's
/// line breaking treats like letters (`…` cannot start a line, and never follows a space in
/// them): a line with others is split by the full algorithm.
const LETTER_LIKE: [char; 4] = ['→', '×', '⇄', '…'];

/// Appends the pieces a line of a message or help may wrap between to `out`, as textwrap's
/// words: a line breaks after each run of spaces, except after an opening bracket and before a
/// closing bracket or a punctuation mark, so that `{ timeout: 500ms }` never ends a line with
/// `{` or starts one with `}`. These are the rules (LB13 and LB14 of Unicode's line breaking)
/// that matter for the ASCII texts the rules write; the full algorithm, which miette uses by
/// default through ICU, was half the time of rendering a large report, and still splits lines
/// beyond ASCII. Words are not split at their hyphens either ([`wrap`] runs no hyphen
/// splitter): a service's name stays whole, and only a word longer than the line is cut.
fn split_words<'a>(line: &'a str, out: &mut Vec<Word<'a>>) {
    let Some(ascii) = own_rule(line) else {
        out.extend(WordSeparator::UnicodeBreakProperties.find_words(line));
        return;
    };
    for (start, word_end, end) in pieces(line) {
        out.push(Word {
            word: &line[start..word_end],
            whitespace: &line[word_end..end],
            penalty: "",
            width: columns(&line[start..word_end], ascii),
        });
    }
}

/// `Some(whether it is ASCII)` when `line` is split by [`split_words`]'s own rule, `None` when
/// it holds characters that take Unicode's full line breaking.
fn own_rule(line: &str) -> Option<bool> {
    let ascii = line.is_ascii();
    let own = ascii
        || line
            .chars()
            .all(|c| c.is_ascii() || LETTER_LIKE.contains(&c));
    own.then_some(ascii)
}

/// The pieces of a line split by [`split_words`]'s own rule, as byte offsets: where each
/// starts, where its word ends and where the spaces after it end.
fn pieces(line: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let bytes = line.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == bytes.len() {
            return None;
        }
        let mut end = start;
        let word_end = loop {
            let spaces = memchr::memchr(b' ', &bytes[end..]).map_or(bytes.len(), |i| end + i);
            end = spaces + bytes[spaces..].iter().take_while(|&&b| b == b' ').count();
            let opens = spaces > start && matches!(bytes[spaces - 1], b'{' | b'[' | b'(');
            let closes = matches!(
                bytes.get(end),
                Some(b'}' | b']' | b')' | b',' | b'.' | b';' | b':' | b'!' | b'?' | b'/')
            );
            if end == bytes.len() || !(opens || closes) {
                break spaces;
            }
        };
        let piece = (start, word_end, end);
        start = end;
        Some(piece)
    })
}

/// A word's width: one column a character (`Word::from` looks each one up in Unicode's width
/// table; the characters the own rule allows are all one column wide).
fn columns(word: &str, ascii: bool) -> usize {
    if ascii {
        word.len()
    } else {
        word.chars().count()
    }
}

/// [`split_words`] as a textwrap word separator, to compare with textwrap's own wrapping.
#[cfg(test)]
fn words(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut out = Vec::new();
    split_words(line, &mut out);
    Box::new(out.into_iter())
}

/// The columns left for a message and for a help text on lines `width` wide: miette indents
/// both within two columns of the edge, a message by 4 (`  × `, `  │ `; a related report's by as
/// many, `  ☞ `), a help by 8 (`  help: `).
fn text_widths(width: usize) -> (usize, usize) {
    let line = width.saturating_sub(2);
    (line.saturating_sub(4), line.saturating_sub(8))
}

/// `text` laid out in lines of at most `width` columns, as miette lays out messages and help
/// through textwrap (`fill` with [`split_words`], first fit, words longer than a line cut in pieces),
/// joined by `\n` for miette to indent, which it then does without wrapping again. Called here
/// on textwrap's parts: its general path (a chain of boxed iterators, a pass of the hyphen
/// splitter and one of the word breaker over every word, a string a line) was half the time of
/// rendering a large report.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut pieces = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if first_fit(line, width, &mut out) {
            continue;
        }
        pieces.clear();
        split_words(line, &mut pieces);
        if pieces.iter().any(|w| w.width > width) {
            pieces = textwrap::core::break_words(pieces, width);
            // As textwrap does behind an indent: an empty first word, which leaves the first line
            // empty when not even a piece of a word fits on it (a width of 0).
            pieces.insert(0, Word::from(""));
        }
        for (j, words) in wrap_first_fit(&pieces, &[width as f64]).iter().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            if let Some((last, rest)) = words.split_last() {
                for w in rest {
                    out.push_str(w.word);
                    out.push_str(w.whitespace);
                }
                out.push_str(last.word);
                out.push_str(last.penalty);
            }
        }
    }
    out
}

/// `line` laid out by first fit straight from its pieces and appended to `out`: what [`wrap`]
/// makes of it through textwrap, without a list of words or a string a line (a test holds the
/// two equal). `false`, with nothing appended, for a line that takes Unicode's line breaking or
/// has a word wider than a line, which textwrap then cuts in pieces.
fn first_fit(line: &str, width: usize, out: &mut String) -> bool {
    let Some(ascii) = own_rule(line) else {
        return false;
    };
    let mark = out.len();
    // The current line: where it starts in `line`, where its last word ends, its columns
    // (with the spaces after its last word), and whether it has a word yet.
    let (mut from, mut to, mut used, mut any) = (0, 0, 0, false);
    for (start, word_end, end) in pieces(line) {
        let w = columns(&line[start..word_end], ascii);
        if w > width {
            out.truncate(mark);
            return false;
        }
        if any && used + w > width {
            out.push_str(&line[from..to]);
            out.push('\n');
            (from, used) = (start, 0);
        }
        used += w + (end - word_end);
        to = word_end;
        any = true;
    }
    out.push_str(&line[from..to]);
    true
}

/// miette's plain drawing of a report whose one label spans several lines, written here directly:
/// the shape of nearly every finding on a large topology (a call item with its fields), where
/// miette's general drawing, built for any number of labels, was three quarters of the human
/// report's work. `false`, with nothing written, for any other report (color, related spans, a
/// label on one line, an empty span, lines with tabs, CR or characters beyond ASCII), which
/// miette draws. Tests hold the bytes equal to miette's for every report the shape takes.
fn draw_multiline(shown: &Shown, out: &mut String) -> bool {
    let d = shown.d;
    let file = shown.code.file;
    let (text, lines) = (&file.text, file.lines());
    let (start, end) = (d.span.start as usize, d.span.end as usize);
    let Some(label) = d.label.as_deref() else {
        return false;
    };
    if !d.related.is_empty() || label.contains('\n') || end <= start || end > text.len() {
        return false;
    }
    // The context: a line before and after the span's lines, as miette reads it.
    let Window {
        first_line,
        from_line: from,
        data_start,
        data_end,
        ..
    } = Window::new(file, start, end, 1, 1);
    let data = &text[data_start..data_end];
    if !data.is_ascii() || data.bytes().any(|b| b == b'\t' || b == b'\r') {
        return false;
    }
    // miette's tests on a line (offset, length with the newline) for the label's span.
    let applies = |offset: usize, length: usize| {
        (start >= offset && start < offset + length)
            || (start < offset && end > offset + length)
            || (end > offset && end <= offset + length)
    };
    let line_only = |offset: usize, length: usize| start >= offset && end <= offset + length;
    let ends = |offset: usize, length: usize| end >= offset && end <= offset + length;
    let mut offset = data_start;
    let mut shape = Vec::new();
    for line in data.split_inclusive('\n') {
        let length = line.len();
        if line_only(offset, length) {
            // A label on one line: miette draws it under the text.
            return false;
        }
        shape.push((offset, length, line.strip_suffix('\n').unwrap_or(line)));
        offset += length;
    }
    let last_number = from + shape.len();
    let width = last_number.to_string().len();
    let pad = " ".repeat(width);
    let icon = match d.severity {
        Severity::Error => "×",
        Severity::Warning => "⚠",
        Severity::Info => "☞",
    };
    out.push_str(&shown.header);
    out.push_str("\n\n");
    indented(&shown.message, &format!("  {icon} "), "  │ ", out);
    // The header names the span's start: its line, and its column in characters (ASCII here).
    let column = start - lines.line_start(first_line) as usize;
    let _ = writeln!(
        out,
        "{pad}  ╭─[{}:{}:{}]",
        file.name,
        first_line + 1,
        column + 1
    );
    for (k, &(offset, length, line)) in shape.iter().enumerate() {
        let _ = write!(out, " {:>width$} │ ", from + k + 1);
        let gutter = if !applies(offset, length) {
            "    "
        } else if start >= offset {
            "╭─▶ "
        } else if ends(offset, length) {
            "├─▶ "
        } else if start < offset && end > offset + length {
            "│   "
        } else {
            "    "
        };
        out.push_str(gutter);
        out.push_str(line);
        out.push('\n');
        if applies(offset, length) && ends(offset, length) && start < offset {
            let _ = writeln!(out, " {pad} · ╰──── {label}");
        }
    }
    let _ = writeln!(out, "{pad}  ╰────");
    if let Some(help) = &shown.help {
        indented(help, "  help: ", "        ", out);
    }
    true
}

/// `text`'s lines after `first` and then `rest`, each ending in a newline, as miette indents a
/// message or a help text it does not wrap (a blank line takes the indent without its spaces).
fn indented(text: &str, first: &str, rest: &str, out: &mut String) {
    for (i, line) in text.split_terminator('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let indent = if i == 0 { first } else { rest };
        if line.trim().is_empty() {
            out.push_str(indent.trim_end());
        } else {
            out.push_str(indent);
        }
        out.push_str(line);
    }
    if text.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
}

/// The findings of `part`, each followed by a blank line.
fn render_part(sources: &Sources, part: &[Diagnostic], color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_wrap_lines(false);
    let mut out = String::new();
    for d in part {
        let shown = shown(sources, d, width);
        if !placeable(sources, d) {
            out.push_str(&super::concise::line(sources, d));
            out.push_str("\n\n");
            continue;
        }
        if !color && draw_multiline(&shown, &mut out) {
            out.push('\n');
            continue;
        }
        if handler.render_report(&mut out, &shown).is_err() {
            // A span miette cannot place: fall back to the concise line rather than lose it.
            out.push_str(&super::concise::line(sources, d));
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::engine::{self, RuleConfig};

    /// `text` wrapped at `width` as the report wraps messages and help.
    fn wrapped(text: &str, width: usize) -> Vec<String> {
        wrap(text, width).split('\n').map(str::to_string).collect()
    }

    #[test]
    fn wrapping_lays_out_lines_as_textwrap_fill_would() {
        // What miette did before it was handed wrapped text: textwrap's `fill` behind its indent.
        let fill = |text: &str, width: usize| {
            let options = textwrap::Options::new(width + 4)
                .initial_indent("  × ")
                .subsequent_indent("  │ ")
                .word_separator(WordSeparator::Custom(words))
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            let filled = textwrap::fill(text, options);
            let lines: Vec<&str> = filled
                .lines()
                .map(|l| l.strip_prefix("  × ").or(l.strip_prefix("  │ ")).unwrap())
                .collect();
            lines.join("\n")
        };
        let texts = [
            "web gives up on orders after 500ms, but orders may take 650ms (p99 50ms + card 300ms × 2 attempts)",
            "add `circuit_breaker: { failure_rate: 50%, open_for: 30s }` (or `circuit_breaker: true`) to this call",
            "a-very-long-service-name-that-is-wider-than-any-line-it-could-ever-be-given calls x",
            "two lines\nthe second one longer than the first, to be wrapped",
            "storefront → orders → pricing → tax → rates: 4 synchronous calls, the limit is 3",
            "ab–cd ef – gh",
        ];
        for text in texts {
            for width in 0..=110 {
                assert_eq!(
                    wrap(text, width),
                    fill(text, width),
                    "width {width}: {text}"
                );
            }
        }
    }

    #[test]
    fn lines_break_at_spaces_but_not_inside_brackets_or_before_punctuation() {
        let help = "add a budget (`retries: { max: 2, backoff: exponential, budget: 10% }`), \
                    and let the layers above fail fast; here store → disk makes 2 × 3 attempts";
        // From the width of the longest piece kept whole, "(`retries: {".
        for width in 13..=help.len() {
            let lines = wrapped(help, width);
            assert_eq!(lines.join(" "), help, "width {width}");
            for (i, line) in lines.iter().enumerate() {
                assert!(
                    !line.ends_with('{') && !line.ends_with('('),
                    "{width}: {line}"
                );
                if i > 0 {
                    assert!(!line.starts_with(['}', ',', ';', ')']), "{width}: {line}");
                }
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
        }
        assert_eq!(
            wrapped(help, 60),
            [
                "add a budget (`retries: { max: 2, backoff: exponential,",
                "budget: 10% }`), and let the layers above fail fast; here",
                "store → disk makes 2 × 3 attempts",
            ]
        );
        // A character the rules do not write takes the Unicode algorithm, which breaks after
        // the en dash.
        assert_eq!(wrapped("ab–cd ef", 4), ["ab–", "cd", "ef"]);
    }

    #[test]
    fn names_are_not_split_at_their_hyphens() {
        let loaded = crate::load::load_test_text(
            "topolint: 1\nservices:\n  storefront-web-frontend:\n    calls: [{ to: payments-gateway-primary }]\n  payments-gateway-primary: {}\n",
        );
        let graph = crate::graph::Graph::build(&loaded.model);
        let outcome = engine::lint_on(&loaded.model, &graph, &RuleConfig::default(), 1);
        assert_eq!(outcome.diagnostics.len(), 1);
        for width in 40..=120 {
            let text = render_part(&loaded.sources, &outcome.diagnostics, false, width);
            // In the message, the two source lines and the help.
            assert_eq!(
                text.matches("payments-gateway-primary").count(),
                4,
                "{text}"
            );
            assert!(!text.lines().any(|l| l.ends_with('-')), "{width}:\n{text}");
        }
    }

    /// Topologies whose reports take every turn of [`draw_multiline`]'s shape: a call item last
    /// in a file that ends without a newline, line numbers that widen within a snippet, a blank
    /// line inside an item, an item on the file's second line.
    const EDGES: [&str; 4] = [
        "topolint: 1\nservices:\n  api: {}\n  web:\n    calls:\n      - to: api\n        timeout: 5s",
        "topolint: 1\n# 2\n# 3\n# 4\nservices:\n  api: {}\n  web:\n    calls:\n      - to: api\n        timeout: 5s\n  other: {}\n",
        "topolint: 1\nservices:\n  api: {}\n  web:\n    calls:\n      - to: api\n\n        timeout: 5s\n\n      - to: api\n        retries: 2\n",
        "services: { api: {}, web: { calls: [\n  { to: api,\n    timeout: 5s }] } }\ntopolint: 1\n",
    ];

    #[test]
    fn multiline_reports_are_drawn_byte_for_byte_as_miette_draws_them() {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(WIDTH)
            .with_wrap_lines(false);
        let mut texts: Vec<(String, String)> = EDGES
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("edge-{i}.topology.yaml"), t.to_string()))
            .collect();
        texts.push((
            "synthetic.topology.yaml".into(),
            crate::synth::topology(2_000, 3),
        ));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let path = entry.unwrap().into_path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                texts.push((path.display().to_string(), text));
            }
        }
        let (mut drawn, mut shaped, mut total) = (0, 0, 0);
        for (name, text) in &texts {
            let (file, _) = crate::load::from_bytes(name.into(), name.clone(), text.clone().into());
            let mut sources = Sources::default();
            sources.add(file);
            let loaded = crate::load::load_sources(sources, &[], &Default::default());
            let analysis = crate::analyze(loaded, &RuleConfig::default());
            let sources = &analysis.loaded.sources;
            for d in &analysis.diagnostics {
                total += 1;
                if !placeable(sources, d) {
                    continue;
                }
                let shown = shown(sources, d, WIDTH);
                let mut fast = String::new();
                if !draw_multiline(&shown, &mut fast) {
                    assert!(fast.is_empty(), "{name}: {fast}");
                    continue;
                }
                let mut miette = String::new();
                handler.render_report(&mut miette, &shown).unwrap();
                assert_eq!(fast, miette, "{name}: {}", d.message);
                drawn += 1;
                shaped += usize::from(name.starts_with("edge-"));
                // Texts the rules do not write: blank lines, a newline at the end, nothing.
                for (message, help) in [
                    ("one\n\nthree\n", Some("help\n")),
                    ("", Some("")),
                    ("x", None),
                ] {
                    let mut odd = d.clone();
                    odd.message = message.into();
                    odd.help = help.map(String::from);
                    let shown = super::shown(sources, &odd, WIDTH);
                    let (mut fast, mut miette) = (String::new(), String::new());
                    assert!(draw_multiline(&shown, &mut fast));
                    handler.render_report(&mut miette, &shown).unwrap();
                    assert_eq!(fast, miette, "{message:?} {help:?}");
                }
            }
        }
        // The edge cases take the shape (the flow-style item too: it spans lines), and so do
        // most reports.
        assert!(shaped >= EDGES.len(), "{shaped} edge reports drawn");
        assert!(drawn * 2 > total, "{drawn} of {total} reports drawn");
    }

    #[test]
    fn a_report_of_many_blocks_reads_as_one_rendered_in_order() {
        // Every service calls `leaf` without a timeout: one S102 finding each, over two blocks
        // and a part, each rendered in two halves.
        let mut yaml = String::from("topolint: 1\nservices:\n  leaf: {}\n");
        for i in 0..BLOCK * 2 + 100 {
            yaml.push_str(&format!("  s{i:05}: {{ calls: [{{ to: leaf }}] }}\n"));
        }
        let loaded = crate::load::load_test_text(&yaml);
        let graph = crate::graph::Graph::build(&loaded.model);
        let outcome = engine::lint_on(&loaded.model, &graph, &RuleConfig::default(), 1);
        assert!(outcome.diagnostics.len() > BLOCK * 2);
        let report = Report {
            sources: &loaded.sources,
            diagnostics: &outcome.diagnostics,
            suppressed: &outcome.suppressed,
        };
        let one_part = render_part(report.sources, report.diagnostics, false, WIDTH);
        let expected = format!("{one_part}{}\n", super::super::summary(&report));
        assert_eq!(render(&report, false, WIDTH), expected);
        // The findings come in the engine's order: s00000's first, the last service's last.
        let first = expected.find("call from s00000 to leaf").unwrap();
        let last = expected.find(&format!("call from s{:05} to leaf", BLOCK * 2 + 99));
        assert!(last.is_some_and(|last| first < last));
        // Without the summary line, and through `write`, the same text.
        let mut body = Vec::new();
        write(&report, false, WIDTH, false, &mut body).unwrap();
        assert_eq!(String::from_utf8(body).unwrap(), one_part);
    }
}
