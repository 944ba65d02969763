//! A pull reader over saphyr-parser's events that converts spans to bytes, expands aliases within
//! a budget and caps nesting depth, so that no input can exhaust memory or the stack.
//!
//! The parser can run on a thread of its own ([`produce`]), handing events over in batches through
//! a bounded channel, so that scanning the text and decoding the events overlap on two cores.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender};

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, StrInput};

use crate::diagnostic::Diagnostic;
use crate::lints::meta;
use crate::source::{FileId, SourceFile, Span};

use super::Limits;

/// An event with its span in bytes.
#[derive(Debug, Clone)]
pub struct Ev<'a> {
    pub event: Event<'a>,
    pub span: Span,
}

/// A problem that stops reading the file: a syntax error or a limit.
#[derive(Debug)]
pub struct Fatal(pub Box<Diagnostic>);

pub type R<T> = Result<T, Fatal>;

struct Recording<'a> {
    anchor: usize,
    depth: usize,
    events: Vec<Ev<'a>>,
}

/// Whole lines of a file, parsed on their own: from byte `start`, the first byte of the 0-based
/// line `line`, to byte `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stretch {
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

impl Stretch {
    pub fn whole(text: &str) -> Stretch {
        Stretch {
            start: 0,
            end: text.len(),
            line: 0,
        }
    }
}

/// Converts the parser's positions to byte spans in one file.
#[derive(Clone, Copy)]
pub struct Spanner<'a> {
    file: FileId,
    source: &'a SourceFile,
    ascii: bool,
    /// What the parser reads; its positions count from the stretch's start.
    stretch: Stretch,
}

impl<'a> Spanner<'a> {
    pub fn new(source: &'a SourceFile, file: FileId) -> Spanner<'a> {
        Spanner::of(
            source,
            file,
            Stretch::whole(&source.text),
            source.text.is_ascii(),
        )
    }

    /// A spanner for a parser of `stretch` only; `ascii` tells whether the whole text is ASCII.
    pub fn of(source: &'a SourceFile, file: FileId, stretch: Stretch, ascii: bool) -> Spanner<'a> {
        Spanner {
            file,
            source,
            ascii,
            stretch,
        }
    }

    fn text(&self) -> &'a str {
        &self.source.text
    }

    /// The text the parser reads.
    fn parsed(&self) -> &'a str {
        &self.source.text[self.stretch.start..self.stretch.end]
    }

    /// Whether offsets need the line index (they do for text beyond ASCII).
    pub fn needs_lines(&self) -> bool {
        !self.ascii
    }

    fn offset(&self, mark: Marker) -> usize {
        if self.ascii {
            (self.stretch.start + mark.index()).min(self.stretch.end)
        } else {
            // A stretch starts at a line's start, so columns need no shift.
            self.source.lines().offset_of_char_col(
                self.text(),
                self.stretch.line + mark.line().saturating_sub(1),
                mark.col(),
            )
        }
    }

    fn fatal(&self, offset: usize, message: String) -> Fatal {
        let end = self.text()[offset.min(self.text().len())..]
            .chars()
            .next()
            .map_or(offset, |c| offset + c.len_utf8());
        Fatal(Box::new(Diagnostic::new(
            &meta::YAML_SYNTAX,
            Span::new(self.file, offset, end),
            message,
        )))
    }

    /// The next event of the parser with its byte span; `StreamEnd` once the parser has no more.
    fn next(&self, parser: &mut Parser<'a, StrInput<'a>>) -> R<Ev<'a>> {
        match parser.next_event() {
            Some(Ok((event, span))) => Ok(Ev {
                event,
                span: Span::new(self.file, self.offset(span.start), self.offset(span.end)),
            }),
            Some(Err(error)) => {
                Err(self.fatal(self.offset(*error.marker()), error.info().to_string()))
            }
            None => Ok(self.stream_end()),
        }
    }

    /// The event with its scalar's text borrowed from the source when it is written there as is
    /// (a plain or quoted scalar without escapes or line folding: nearly all of them). The parser's
    /// own copy is then freed here, on the parsing thread that allocated it, not on the decoder's:
    /// freeing across threads is slow in most allocators, and the decoder has less to do.
    fn lend(&self, mut ev: Ev<'a>) -> Ev<'a> {
        if let Event::Scalar(value, style, _, _) = &mut ev.event
            && let Cow::Owned(owned) = value
        {
            let (start, end) = (ev.span.start as usize, ev.span.end as usize);
            let inner = match style {
                ScalarStyle::Plain => self.text().get(start..end),
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if end >= start + 2 => {
                    self.text().get(start + 1..end - 1)
                }
                _ => None,
            };
            if let Some(source) = inner.filter(|source| *source == owned.as_str()) {
                *value = Cow::Borrowed(source);
            }
        }
        ev
    }

    fn stream_end(&self) -> Ev<'a> {
        Ev {
            event: Event::StreamEnd,
            span: Span::new(self.file, self.stretch.end, self.stretch.end),
        }
    }
}

/// Events handed from the parsing thread to the reader: a batch ends early at the end of the
/// stream or at a syntax error.
pub type Batch<'a> = Vec<R<Ev<'a>>>;

/// Events per batch: large enough that the channel costs nothing per event, small enough that the
/// decoder starts at once and the batches in flight stay small (about 100 KiB each).
pub const BATCH: usize = 1024;

/// Runs the parser over the whole text and sends its events in batches, until the end of the
/// stream, a syntax error, or the reader hanging up (it stops early on a limit).
pub fn produce<'a>(spanner: Spanner<'a>, tx: SyncSender<Batch<'a>>) {
    let mut parser = Parser::new_from_str(spanner.parsed());
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut done = false;
        while batch.len() < BATCH && !done {
            let ev = spanner.next(&mut parser).map(|ev| spanner.lend(ev));
            done = match &ev {
                Ok(ev) => matches!(ev.event, Event::StreamEnd),
                Err(_) => true,
            };
            batch.push(ev);
        }
        if tx.send(batch).is_err() || done {
            return;
        }
    }
}

/// Where the reader's events come from.
enum Source<'a> {
    /// The parser, on this thread.
    Inline(Box<Parser<'a, StrInput<'a>>>),
    /// Batches from [`produce`] on another thread.
    Piped {
        rx: Receiver<Batch<'a>>,
        batch: std::vec::IntoIter<R<Ev<'a>>>,
    },
}

pub struct Events<'a> {
    source: Source<'a>,
    spanner: Spanner<'a>,
    peeked: Option<Ev<'a>>,
    anchors: HashMap<usize, Rc<[Ev<'a>]>>,
    recordings: Vec<Recording<'a>>,
    replay: Vec<(Rc<[Ev<'a>]>, usize)>,
    replayed: usize,
    depth: usize,
    limits: Limits,
    /// End of the last event that covered text; the end of the node being read.
    pub last_end: u32,
}

impl<'a> Events<'a> {
    /// A reader that runs the parser itself.
    pub fn new(source: &'a SourceFile, file: FileId, limits: Limits) -> Events<'a> {
        Events::inline(Spanner::new(source, file), limits, 0)
    }

    /// A reader that runs the parser itself over the spanner's stretch, whose top level lies
    /// `depth` levels deep in the file.
    pub fn inline(spanner: Spanner<'a>, limits: Limits, depth: usize) -> Events<'a> {
        let parser = Parser::new_from_str(spanner.parsed());
        let mut events = Events::with_source(Source::Inline(Box::new(parser)), spanner, limits);
        events.depth = depth;
        events
    }

    /// How many events aliases have expanded to so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// A reader of the batches that [`produce`] sends for the same text.
    pub fn piped(spanner: Spanner<'a>, rx: Receiver<Batch<'a>>, limits: Limits) -> Events<'a> {
        let source = Source::Piped {
            rx,
            batch: Vec::new().into_iter(),
        };
        Events::with_source(source, spanner, limits)
    }

    fn with_source(source: Source<'a>, spanner: Spanner<'a>, limits: Limits) -> Events<'a> {
        Events {
            source,
            spanner,
            peeked: None,
            anchors: HashMap::new(),
            recordings: Vec::new(),
            replay: Vec::new(),
            replayed: 0,
            depth: 0,
            limits,
            last_end: 0,
        }
    }

    pub fn file(&self) -> FileId {
        self.spanner.file
    }

    fn fatal(&self, offset: usize, message: String) -> Fatal {
        self.spanner.fatal(offset, message)
    }

    pub fn peek(&mut self) -> R<&Ev<'a>> {
        if self.peeked.is_none() {
            let ev = self.pull()?;
            self.peeked = Some(ev);
        }
        Ok(self.peeked.as_ref().expect("peeked was just filled"))
    }

    pub fn next(&mut self) -> R<Ev<'a>> {
        let ev = match self.peeked.take() {
            Some(ev) => ev,
            None => self.pull()?,
        };
        if !ev.span.is_empty() {
            self.last_end = self.last_end.max(ev.span.end);
        }
        Ok(ev)
    }

    /// The next event after alias expansion, depth accounting and recording of anchored nodes.
    fn pull(&mut self) -> R<Ev<'a>> {
        let (ev, from_parser) = loop {
            if let Some((events, pos)) = self.replay.last_mut() {
                if *pos < events.len() {
                    let ev = events[*pos].clone();
                    *pos += 1;
                    self.replayed += 1;
                    if self.replayed > self.limits.max_alias_expansion {
                        return Err(self.fatal(
                            ev.span.start as usize,
                            format!(
                                "aliases expand to more than {} nodes (an alias bomb?); raise the limit with --max-alias-expansion",
                                self.limits.max_alias_expansion
                            ),
                        ));
                    }
                    break (ev, false);
                }
                self.replay.pop();
                continue;
            }
            let ev = self.parse_next()?;
            if let Event::Alias(id) = ev.event {
                let Some(events) = self.anchors.get(&id).cloned() else {
                    return Err(
                        self.fatal(ev.span.start as usize, "alias to an unknown anchor".into())
                    );
                };
                self.replay.push((events, 0));
                continue;
            }
            break (ev, true);
        };

        match &ev.event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.depth += 1;
                if self.depth > self.limits.max_depth {
                    return Err(self.fatal(
                        ev.span.start as usize,
                        format!(
                            "nesting deeper than {} levels; raise the limit with --max-depth",
                            self.limits.max_depth
                        ),
                    ));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }

        for recording in &mut self.recordings {
            recording.events.push(ev.clone());
        }
        if from_parser {
            match &ev.event {
                Event::Scalar(_, _, anchor, _) if *anchor != 0 => {
                    self.anchors.insert(*anchor, Rc::from(vec![ev.clone()]));
                }
                Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _)
                    if *anchor != 0 =>
                {
                    self.recordings.push(Recording {
                        anchor: *anchor,
                        depth: self.depth,
                        events: vec![ev.clone()],
                    });
                }
                _ => {}
            }
        }
        while self.recordings.last().is_some_and(|r| r.depth > self.depth) {
            let done = self.recordings.pop().expect("checked above");
            self.anchors.insert(done.anchor, Rc::from(done.events));
        }
        Ok(ev)
    }

    fn parse_next(&mut self) -> R<Ev<'a>> {
        match &mut self.source {
            Source::Inline(parser) => self.spanner.next(parser),
            Source::Piped { rx, batch } => loop {
                if let Some(ev) = batch.next() {
                    return ev;
                }
                match rx.recv() {
                    Ok(next) => *batch = next.into_iter(),
                    // The producer has sent the end of the stream (or an error) and quit.
                    Err(_) => return Ok(self.spanner.stream_end()),
                }
            },
        }
    }
}

/// What a plain scalar resolves to under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

impl Plain {
    pub fn resolve(text: &str, style: ScalarStyle) -> Plain {
        if style != ScalarStyle::Plain {
            return Plain::Str;
        }
        match text {
            "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
            "true" | "True" | "TRUE" => return Plain::Bool(true),
            "false" | "False" | "FALSE" => return Plain::Bool(false),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
                return Plain::Float(f64::INFINITY);
            }
            "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
            _ => {}
        }
        let first = text.as_bytes()[0];
        if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
            return Plain::Str;
        }
        if let Some(hex) = text.strip_prefix("0x") {
            return i128::from_str_radix(hex, 16).map_or(Plain::Str, Plain::Int);
        }
        if let Some(oct) = text.strip_prefix("0o") {
            return i128::from_str_radix(oct, 8).map_or(Plain::Str, Plain::Int);
        }
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map_or(Plain::Str, Plain::Int);
        }
        if is_core_float(digits) {
            return text.parse().map_or(Plain::Str, Plain::Float);
        }
        Plain::Str
    }

    pub fn describe(self) -> &'static str {
        match self {
            Plain::Null => "null",
            Plain::Bool(_) => "a boolean",
            Plain::Int(_) => "an integer",
            Plain::Float(_) => "a number",
            Plain::Str => "a string",
        }
    }
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit()))
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolution() {
        let p = |t| Plain::resolve(t, ScalarStyle::Plain);
        assert_eq!(p("12"), Plain::Int(12));
        assert_eq!(p("-3"), Plain::Int(-3));
        assert_eq!(p("0.5"), Plain::Float(0.5));
        assert_eq!(p("1e3"), Plain::Float(1000.0));
        assert_eq!(p("true"), Plain::Bool(true));
        assert_eq!(p("~"), Plain::Null);
        assert_eq!(p("500ms"), Plain::Str);
        assert_eq!(p("1.2.0"), Plain::Str);
        assert_eq!(p("."), Plain::Str);
        assert_eq!(Plain::resolve("12", ScalarStyle::DoubleQuoted), Plain::Str);
    }
}
