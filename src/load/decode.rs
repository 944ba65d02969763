//! Builds a [`Document`] straight from parser events, keeping the span of every value.
//!
//! Structural problems (T002) are collected and decoding goes on, so a file reports all of them at
//! once; only syntax errors and limits (T001) stop it.

use std::borrow::Cow;

use saphyr_parser::{Event, ScalarStyle};

use crate::diagnostic::Diagnostic;
use crate::lints::meta;
use crate::model::*;
use crate::source::Span;
use crate::suggest;

use super::events::{Events, Plain, R};

/// A scalar as read: text, style and span.
pub struct Scalar<'a> {
    pub text: Cow<'a, str>,
    pub style: ScalarStyle,
    pub span: Span,
}

impl Scalar<'_> {
    fn plain(&self) -> Plain {
        Plain::resolve(&self.text, self.style)
    }
}

pub struct Decoder<'a> {
    ev: Events<'a>,
    pub diagnostics: Vec<Diagnostic>,
    /// The top-level fields read, as bits in the order of [`DOCUMENT_FIELDS`].
    pub root_fields: u32,
    /// Reading the rest of a file whose start (with `topolint: 1`) was read apart.
    pub headless: bool,
}

const DOCUMENT_FIELDS: &[&str] = &[
    "topolint",
    "system",
    "description",
    "defaults",
    "services",
    "externals",
    "channels",
    "brokers",
    "messages",
    "datastores",
    "operations",
    "allow",
];
const DEFAULTS_FIELDS: &[&str] = &["calls", "requests"];
const SERVICE_FIELDS: &[&str] = &[
    "owner",
    "description",
    "user_facing",
    "latency",
    "budget",
    "calls",
    "requests",
    "publishes",
    "consumes",
    "reads",
    "writes",
];
const LATENCY_FIELDS: &[&str] = &["p50", "p90", "p95", "p99", "p999"];
const CALL_FIELDS: &[&str] = &[
    "to",
    "protocol",
    "timeout",
    "retries",
    "circuit_breaker",
    "fan_out",
    "batch",
    "in_transaction",
    "needs",
];
const RETRY_FIELDS: &[&str] = &["max", "backoff", "budget"];
const BREAKER_FIELDS: &[&str] = &["failure_rate", "open_for"];
const BATCH_FIELDS: &[&str] = &["items"];
const REQUEST_FIELDS: &[&str] = &["to", "reply", "message", "timeout", "needs"];
const PUBLISH_FIELDS: &[&str] = &[
    "to",
    "message",
    "critical",
    "via",
    "user_action",
    "feedback",
    "needs",
];
const CONSUME_FIELDS: &[&str] = &[
    "from",
    "message",
    "idempotent",
    "idempotency",
    "ordering",
    "concurrency",
    "delivery",
];
const IDEMPOTENCY_FIELDS: &[&str] = &["key", "store"];
const NEEDS_FIELDS: &[&str] = &[
    "user_waits",
    "consistency",
    "decoupling",
    "spikes",
    "replay",
    "dominant",
];
const EXTERNAL_FIELDS: &[&str] = &["description", "owner", "latency"];
const CHANNEL_FIELDS: &[&str] = &[
    "kind",
    "description",
    "owner",
    "broker",
    "messages",
    "partitions",
    "key",
    "dead_letter",
    "reason",
    "max_deliveries",
    "alerts",
    "max_depth",
    "overflow",
    "retention",
];
const ALERTS_FIELDS: &[&str] = &["depth", "age"];
const BROKER_FIELDS: &[&str] = &["kind", "schema_registry", "description"];
const MESSAGE_FIELDS: &[&str] = &[
    "version",
    "schema",
    "format",
    "compatibility",
    "description",
    "owner",
];
const DATASTORE_FIELDS: &[&str] = &["kind", "description", "owner"];
const OPERATIONS_FIELDS: &[&str] = &["broker_experience", "dlq_runbooks", "tracing"];
const ALLOW_FIELDS: &[&str] = &["rule", "at", "reason"];

/// The field names of every mapping of the format, by the schema's definition name, so that a
/// test can check them against the generated schema.
pub const FIELDS: &[(&str, &[&str])] = &[
    ("Document", DOCUMENT_FIELDS),
    ("Defaults", DEFAULTS_FIELDS),
    ("Service", SERVICE_FIELDS),
    ("Latency", LATENCY_FIELDS),
    ("Call", CALL_FIELDS),
    ("RetryPolicy", RETRY_FIELDS),
    ("BreakerPolicy", BREAKER_FIELDS),
    ("BatchItems", BATCH_FIELDS),
    ("Request", REQUEST_FIELDS),
    ("Publish", PUBLISH_FIELDS),
    ("Consume", CONSUME_FIELDS),
    ("Idempotency", IDEMPOTENCY_FIELDS),
    ("Needs", NEEDS_FIELDS),
    ("External", EXTERNAL_FIELDS),
    ("Channel", CHANNEL_FIELDS),
    ("Alerts", ALERTS_FIELDS),
    ("Broker", BROKER_FIELDS),
    ("Message", MESSAGE_FIELDS),
    ("Datastore", DATASTORE_FIELDS),
    ("Operations", OPERATIONS_FIELDS),
    ("Allow", ALLOW_FIELDS),
];

impl<'a> Decoder<'a> {
    pub fn new(ev: Events<'a>) -> Decoder<'a> {
        Decoder {
            ev,
            diagnostics: Vec::new(),
            root_fields: 0,
            headless: false,
        }
    }

    /// How many events aliases expanded to.
    pub fn replayed(&self) -> usize {
        self.ev.replayed()
    }

    fn invalid(&mut self, span: Span, message: String) {
        self.diagnostics
            .push(Diagnostic::new(&meta::INVALID_FIELD, span, message));
    }

    fn invalid_help(&mut self, span: Span, message: String, help: String) {
        self.diagnostics
            .push(Diagnostic::new(&meta::INVALID_FIELD, span, message).help(help));
    }

    /// Reads the whole file. `Err` only for syntax errors and limits.
    pub fn document(&mut self) -> R<Document> {
        let mut doc = Document::default();
        let file = self.ev.file();
        if self.document_start()?.is_some() {
            // An empty stream: no document at all.
            self.invalid_help(
                Span::new(file, 0, 0),
                "empty file: a topology file starts with `topolint: 1`".into(),
                "add `topolint: 1` as the first line".into(),
            );
            return Ok(doc);
        }
        let root_start = self.ev.peek()?.span;
        let mut topolint_seen = false;
        let mut fields = 0;
        let root = self.map_struct("the top level of a topology file", DOCUMENT_FIELDS, |d, key| {
            if let Some(i) = DOCUMENT_FIELDS.iter().position(|f| *f == key.text) {
                fields |= 1 << i;
            }
            if d.section(&mut doc, &key.text)? {
                return Ok(true);
            }
            match &*key.text {
                "topolint" => {
                    topolint_seen = true;
                    if let Some(s) = d.scalar("the format version `1`")? {
                        match s.plain() {
                            Plain::Int(1) => doc.topolint = Some(Spanned::new(1, s.span)),
                            _ => d.invalid_help(
                                s.span,
                                format!("unsupported format version `{}`: this topolint reads format 1", s.text),
                                "write `topolint: 1`".into(),
                            ),
                        }
                    }
                }
                "system" => doc.system = d.string()?,
                "description" => doc.description = d.string()?,
                "defaults" => doc.defaults = d.defaults()?,
                "operations" => {
                    doc.operations_span = Some(key.span);
                    doc.operations = d.operations()?;
                }
                "allow" => doc.allow = d.seq("a list of allow entries", Decoder::allow)?.into(),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        self.root_fields = fields;
        if root.is_some() && !topolint_seen && !self.headless {
            self.invalid_help(
                root_start,
                "missing `topolint: 1`: every topology file declares the format version".into(),
                "add `topolint: 1` as the first line".into(),
            );
        }
        // After the document: its end, then the end of the stream; a second document is an error.
        loop {
            let ev = self.ev.next()?;
            match ev.event {
                Event::DocumentEnd => continue,
                Event::DocumentStart(_) => {
                    self.invalid_help(
                        ev.span,
                        "a second YAML document: a topology file holds one document".into(),
                        "split the documents into separate `*.topology.yaml` files".into(),
                    );
                    return Ok(doc);
                }
                _ => return Ok(doc),
            }
        }
    }

    /// Reads the value of the top-level field `field` into `doc` when it is one of the node
    /// sections (`services`, `channels`, ...); `false` for any other field.
    fn section(&mut self, doc: &mut Document, field: &str) -> R<bool> {
        match field {
            "services" => doc.services = self.name_map(NodeKind::Service, Decoder::service)?,
            "externals" => doc.externals = self.name_map(NodeKind::External, Decoder::external)?,
            "channels" => doc.channels = self.name_map(NodeKind::Channel, Decoder::channel)?,
            "brokers" => doc.brokers = self.name_map(NodeKind::Broker, Decoder::broker)?,
            "messages" => doc.messages = self.name_map(NodeKind::Message, Decoder::message)?,
            "datastores" => {
                doc.datastores = self.name_map(NodeKind::Datastore, Decoder::datastore)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Consumes the start of the stream and of its first document; on anything else, returns
    /// its span.
    fn document_start(&mut self) -> R<Option<Span>> {
        loop {
            let ev = self.ev.next()?;
            match ev.event {
                Event::StreamStart => continue,
                Event::DocumentStart(_) => return Ok(None),
                _ => return Ok(Some(ev.span)),
            }
        }
    }

    /// Reads a stream whose one document is the body of the node section `field` (entries of
    /// `services:`, say, cut from the middle of a file): a document holding only that section.
    /// Anything else in the stream is reported.
    pub fn section_body(&mut self, kind: NodeKind) -> R<Document> {
        let mut doc = Document::default();
        let field = kind.section();
        if let Some(at) = self.document_start()? {
            self.invalid(at, format!("expected entries of `{field}`"));
            return Ok(doc);
        }
        self.section(&mut doc, field)?;
        loop {
            let ev = self.ev.next()?;
            match ev.event {
                Event::DocumentEnd => continue,
                Event::StreamEnd => return Ok(doc),
                _ => {
                    self.invalid(ev.span, format!("more than entries of `{field}`"));
                    return Ok(doc);
                }
            }
        }
    }

    /// Reads a mapping with known fields. `field` returns `Ok(false)` for an unknown key, which
    /// is then reported (with a suggestion) and its value skipped. Returns the mapping's span, or
    /// `None` when the value was not a mapping (reported).
    fn map_struct(
        &mut self,
        what: &str,
        fields: &[&str],
        mut field: impl FnMut(&mut Self, &Scalar<'a>) -> R<bool>,
    ) -> R<Option<Span>> {
        let Some(start) = self.begin(what, true)? else {
            return Ok(None);
        };
        // The span of each field seen so far (no mapping of the format has more than 16 fields).
        let mut seen = [None::<Span>; 16];
        while let Some(key) = self.key()? {
            let known = fields.iter().position(|f| *f == key.text);
            if let Some(index) = known {
                if let Some(first) = seen[index] {
                    self.diagnostics.push(
                        Diagnostic::new(
                            &meta::DUPLICATE_NAME,
                            key.span,
                            format!("duplicate key `{}`: YAML keeps only one of them", key.text),
                        )
                        .label("defined again here")
                        .related(first, "first defined here")
                        .help("remove one of the two keys"),
                    );
                    self.skip()?;
                    continue;
                }
                seen[index] = Some(key.span);
            }
            // The key is lent to `field`, not copied: one allocation less for every key read.
            if known.is_none() || !field(self, &key)? {
                let text = &key.text;
                self.invalid_help(
                    key.span,
                    format!(
                        "unknown field `{text}` in {what}{}",
                        suggest::hint(text, fields.iter().copied())
                    ),
                    format!("the fields here are: {}", fields.join(", ")),
                );
                self.skip()?;
            }
        }
        Ok(Some(start.cover(Span {
            end: self.ev.last_end,
            ..start
        })))
    }

    /// Consumes the start of a mapping (`map`) or sequence; on anything else, reports the wrong
    /// type, skips the node and returns `None`.
    fn begin(&mut self, what: &str, map: bool) -> R<Option<Span>> {
        let ev = self.ev.peek()?;
        let span = ev.span;
        let found = match (&ev.event, map) {
            (Event::MappingStart(..), true) | (Event::SequenceStart(..), false) => {
                self.ev.next()?;
                return Ok(Some(span));
            }
            (Event::MappingStart(..), false) => "a mapping",
            (Event::SequenceStart(..), true) => "a list",
            (Event::Scalar(text, style, ..), _) => {
                if Plain::resolve(text, *style) == Plain::Null {
                    "nothing (null)"
                } else {
                    "a scalar"
                }
            }
            _ => "nothing",
        };
        let found = found.to_string();
        let node = self.skip()?;
        self.invalid(node, format!("expected {what}, found {found}"));
        Ok(None)
    }

    /// The next key of a mapping, or `None` at its end. Keys that are not scalars are reported
    /// and skipped with their values.
    fn key(&mut self) -> R<Option<Scalar<'a>>> {
        loop {
            let ev = self.ev.peek()?;
            match &ev.event {
                Event::MappingEnd => {
                    self.ev.next()?;
                    return Ok(None);
                }
                Event::Scalar(..) => {
                    let ev = self.ev.next()?;
                    let Event::Scalar(text, style, ..) = ev.event else {
                        unreachable!("peeked a scalar")
                    };
                    return Ok(Some(Scalar {
                        text,
                        style,
                        span: ev.span,
                    }));
                }
                _ => {
                    let span = self.skip()?;
                    self.invalid(
                        span,
                        "a key must be a plain name, not a mapping or list".into(),
                    );
                    self.skip()?;
                }
            }
        }
    }

    /// Skips one node (of any depth, without recursion) and returns its span.
    fn skip(&mut self) -> R<Span> {
        let first = self.ev.next()?;
        let mut depth = match first.event {
            Event::MappingStart(..) | Event::SequenceStart(..) => 1usize,
            _ => 0,
        };
        while depth > 0 {
            match self.ev.next()?.event {
                Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
                Event::MappingEnd | Event::SequenceEnd => depth -= 1,
                Event::StreamEnd => break,
                _ => {}
            }
        }
        Ok(first.span.cover(Span {
            end: self.ev.last_end.max(first.span.end),
            ..first.span
        }))
    }

    /// A scalar value; anything else is reported as a wrong type.
    fn scalar(&mut self, what: &str) -> R<Option<Scalar<'a>>> {
        if matches!(self.ev.peek()?.event, Event::Scalar(..)) {
            let ev = self.ev.next()?;
            let Event::Scalar(text, style, ..) = ev.event else {
                unreachable!("peeked a scalar")
            };
            return Ok(Some(Scalar {
                text,
                style,
                span: ev.span,
            }));
        }
        let found = match self.ev.peek()?.event {
            Event::MappingStart(..) => "a mapping",
            _ => "a list",
        };
        let span = self.skip()?;
        self.invalid(span, format!("expected {what}, found {found}"));
        Ok(None)
    }

    fn wrong_type(&mut self, s: &Scalar, what: &str) {
        let found = s.plain().describe();
        self.invalid(
            s.span,
            format!("expected {what}, found {found} `{}`", s.text),
        );
    }

    fn string(&mut self) -> R<Option<Spanned<Text>>> {
        let Some(s) = self.scalar("a string")? else {
            return Ok(None);
        };
        if s.plain() != Plain::Str {
            self.wrong_type(&s, "a string");
            return Ok(None);
        }
        Ok(Some(Spanned::new(Text::from(s.text.as_ref()), s.span)))
    }

    fn name(&mut self) -> R<Option<Spanned<Name>>> {
        let Some(s) = self.scalar("a name")? else {
            return Ok(None);
        };
        Ok(self.check_name(s))
    }

    fn check_name(&mut self, s: Scalar) -> Option<Spanned<Name>> {
        if s.plain() != Plain::Str || !Name::is_valid(&s.text) {
            self.invalid_help(
                s.span,
                format!("`{}` is not a valid name", s.text),
                "a name starts with a letter and goes on with letters, digits, `.`, `_` or `-`"
                    .into(),
            );
            return None;
        }
        Some(Spanned::new(
            Name(compact_str::CompactString::from(&*s.text)),
            s.span,
        ))
    }

    fn names(&mut self, what: &str) -> R<List<Spanned<Name>>> {
        self.seq(what, Decoder::name)
    }

    fn bool(&mut self) -> R<Option<Spanned<bool>>> {
        let Some(s) = self.scalar("`true` or `false`")? else {
            return Ok(None);
        };
        match s.plain() {
            Plain::Bool(b) => Ok(Some(Spanned::new(b, s.span))),
            _ => {
                self.wrong_type(&s, "`true` or `false`");
                Ok(None)
            }
        }
    }

    fn uint(&mut self) -> R<Option<Spanned<u64>>> {
        let Some(s) = self.scalar("a whole number")? else {
            return Ok(None);
        };
        match s.plain() {
            Plain::Int(n) if (0..=u64::MAX as i128).contains(&n) => {
                Ok(Some(Spanned::new(n as u64, s.span)))
            }
            _ => {
                self.wrong_type(&s, "a whole number (0 or more)");
                Ok(None)
            }
        }
    }

    fn duration(&mut self) -> R<Option<Spanned<Duration>>> {
        let Some(s) = self.scalar("a duration such as `500ms`")? else {
            return Ok(None);
        };
        match s.plain() {
            Plain::Str | Plain::Int(_) | Plain::Float(_) => match Duration::parse(&s.text) {
                Ok(d) => Ok(Some(Spanned::new(d, s.span))),
                Err(message) => {
                    self.invalid_help(
                        s.span,
                        message,
                        "durations are written `250ms`, `2s`, `1.5s`, `5m`, `1h`, `7d`".into(),
                    );
                    Ok(None)
                }
            },
            _ => {
                self.wrong_type(&s, "a duration such as `500ms`");
                Ok(None)
            }
        }
    }

    fn percent(&mut self) -> R<Option<Percent>> {
        let Some(s) = self.scalar("a percentage such as `10%`")? else {
            return Ok(None);
        };
        let parsed = match s.plain() {
            Plain::Str => Percent::parse(&s.text),
            Plain::Int(n) => Percent::from_fraction(n as f64),
            Plain::Float(f) => Percent::from_fraction(f),
            _ => Err(format!(
                "expected a percentage such as `10%`, found `{}`",
                s.text
            )),
        };
        match parsed {
            Ok(p) => Ok(Some(p)),
            Err(message) => {
                self.invalid(s.span, message);
                Ok(None)
            }
        }
    }

    fn keyword<K: Keyword + PartialEq>(&mut self) -> R<Option<Spanned<K>>> {
        let what = format!("a {}", K::WHAT);
        let Some(s) = self.scalar(&what)? else {
            return Ok(None);
        };
        if s.plain() == Plain::Str
            && let Some(k) = K::parse(&s.text)
        {
            return Ok(Some(Spanned::new(k, s.span)));
        }
        let words = K::VALUES.iter().map(|(w, _)| *w);
        self.invalid_help(
            s.span,
            format!(
                "`{}` is not a valid {}{}",
                s.text,
                K::WHAT,
                suggest::hint(&s.text, words)
            ),
            format!("expected one of {}", K::allowed()),
        );
        Ok(None)
    }

    fn version(&mut self) -> R<Option<Spanned<Version>>> {
        let Some(s) = self.scalar("a version")? else {
            return Ok(None);
        };
        let version = match s.plain() {
            Plain::Int(n) if n >= 0 && n <= u64::MAX as i128 => Some(Version::Number(n as u64)),
            Plain::Str if is_semver(&s.text) => Some(Version::Semver(s.text.to_string())),
            _ => None,
        };
        match version {
            Some(v) => Ok(Some(Spanned::new(v, s.span))),
            None => {
                self.invalid_help(
                    s.span,
                    format!("`{}` is not a version", s.text),
                    "write an integer (`3`) or a semver string (`\"1.2.0\"`)".into(),
                );
                Ok(None)
            }
        }
    }

    /// A list; `item` reads one element (returning `None` when it was invalid and reported).
    fn seq<T>(
        &mut self,
        what: &str,
        mut item: impl FnMut(&mut Self) -> R<Option<T>>,
    ) -> R<List<T>> {
        let mut out = List::new();
        if self.begin(what, false)?.is_none() {
            return Ok(out);
        }
        loop {
            if matches!(self.ev.peek()?.event, Event::SequenceEnd) {
                self.ev.next()?;
                // Lists are small and many: keep no spare capacity.
                out.shrink_to_fit();
                return Ok(out);
            }
            if matches!(self.ev.peek()?.event, Event::StreamEnd) {
                return Ok(out);
            }
            if let Some(value) = item(self)? {
                out.push(value);
            }
        }
    }

    /// A mapping from names to definitions.
    fn name_map<T>(
        &mut self,
        kind: NodeKind,
        mut value: impl FnMut(&mut Self, Spanned<Name>) -> R<Option<T>>,
    ) -> R<Vec<T>> {
        let mut out = Vec::new();
        let what = format!("a mapping of {} names to their definitions", kind.as_str());
        if self.begin(&what, true)?.is_none() {
            return Ok(out);
        }
        while let Some(key) = self.key()? {
            match self.check_name(key) {
                Some(name) => {
                    if let Some(v) = value(self, name)? {
                        out.push(v);
                    }
                }
                None => {
                    self.skip()?;
                }
            }
        }
        // The list grew by doubling: give the slack back now, before the next section's list
        // grows beside it (a large block is remapped, not copied).
        out.shrink_to_fit();
        Ok(out)
    }

    fn defaults(&mut self) -> R<Option<Defaults>> {
        let mut d = Defaults::default();
        let ok = self.map_struct("`defaults`", DEFAULTS_FIELDS, |dec, key| {
            match &*key.text {
                "calls" => {
                    let mut options = CallOptions::default();
                    let fields = &CALL_FIELDS[1..];
                    if dec
                        .map_struct(
                            "`defaults.calls` (any call field but `to`)",
                            fields,
                            |dec, key| dec.call_option(&mut options, &key.text),
                        )?
                        .is_some()
                    {
                        d.calls = Some(options);
                    }
                }
                "requests" => {
                    let mut options = RequestOptions::default();
                    let fields = &REQUEST_FIELDS[1..];
                    if dec
                        .map_struct(
                            "`defaults.requests` (any requests field but `to`)",
                            fields,
                            |dec, key| dec.request_option(&mut options, &key.text),
                        )?
                        .is_some()
                    {
                        d.requests = Some(options);
                    }
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| d))
    }

    fn service(&mut self, name: Spanned<Name>) -> R<Option<Service>> {
        let mut s = Service {
            name,
            ..Service::default()
        };
        let ok = self.map_struct("a service", SERVICE_FIELDS, |d, key| {
            match &*key.text {
                "owner" => s.owner = d.string()?,
                "description" => s.description = d.string()?.map(Box::new),
                "user_facing" => s.user_facing = d.bool()?,
                "latency" => s.latency = d.latency()?,
                "budget" => s.budget = d.duration()?.map(Box::new),
                "calls" => s.calls = d.seq("a list of calls", Decoder::call)?,
                "requests" => s.requests = d.seq("a list of requests", Decoder::request)?,
                "publishes" => s.publishes = d.seq("a list of publishes", Decoder::publish)?,
                "consumes" => {
                    s.consumes = d.seq("a list of consumed channels", Decoder::consume)?
                }
                "reads" => s.reads = d.names("a list of datastore names")?,
                "writes" => s.writes = d.names("a list of datastore names")?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| s))
    }

    fn latency(&mut self) -> R<Option<Box<Latency>>> {
        let mut l = Latency::default();
        let span = self.map_struct(
            "`latency` (percentiles such as `p99: 40ms`)",
            LATENCY_FIELDS,
            |d, key| {
                let value = d.duration()?;
                match &*key.text {
                    "p50" => l.p50 = value,
                    "p90" => l.p90 = value.map(Box::new),
                    "p95" => l.p95 = value.map(Box::new),
                    "p99" => l.p99 = value,
                    "p999" => l.p999 = value.map(Box::new),
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(span.map(|span| Box::new(Latency { span, ..l })))
    }

    /// Reads the value of one call option into `o`; `false` for a key that is not one.
    fn call_option(&mut self, o: &mut CallOptions, key: &str) -> R<bool> {
        match key {
            "protocol" => o.protocol = self.keyword()?,
            "timeout" => o.timeout = self.duration()?,
            "retries" => o.retries = self.retries()?,
            "circuit_breaker" => o.circuit_breaker = self.circuit_breaker()?,
            "fan_out" => o.fan_out = self.uint()?.map(Box::new),
            "batch" => o.batch = self.batch()?.map(Box::new),
            "in_transaction" => o.in_transaction = self.bool()?,
            "needs" => o.needs = self.needs()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn request_option(&mut self, o: &mut RequestOptions, key: &str) -> R<bool> {
        match key {
            "reply" => o.reply = self.name()?,
            "message" => o.message = self.name()?,
            "timeout" => o.timeout = self.duration()?,
            "needs" => o.needs = self.needs()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn call(&mut self) -> R<Option<Call>> {
        let mut c = Call::default();
        let mut to = None;
        let span = self.map_struct("a call (`- to: service`)", CALL_FIELDS, |d, key| {
            if key.text == "to" {
                to = d.name()?;
                return Ok(true);
            }
            d.call_option(&mut c.options, &key.text)
        })?;
        Ok(self
            .require(span, to, "call", "to", "- to: orders")
            .map(|(span, to)| Call { to, span, ..c }))
    }

    /// An item without its required field is reported and dropped.
    fn require<T>(
        &mut self,
        span: Option<Span>,
        value: Option<T>,
        what: &str,
        field: &str,
        example: &str,
    ) -> Option<(Span, T)> {
        let span = span?;
        match value {
            Some(v) => Some((span, v)),
            None => {
                self.invalid_help(
                    span,
                    format!("this {what} has no `{field}`"),
                    format!("write it as `{example}`"),
                );
                None
            }
        }
    }

    fn retries(&mut self) -> R<Option<Spanned<Retries>>> {
        if matches!(self.ev.peek()?.event, Event::MappingStart(..)) {
            let mut max = None;
            let mut backoff = None;
            let mut budget = None;
            let span = self.map_struct("a retry policy", RETRY_FIELDS, |d, key| {
                match &*key.text {
                    "max" => max = d.uint()?.map(|m| m.value),
                    "backoff" => backoff = d.keyword::<Backoff>()?.map(|b| b.value),
                    "budget" => budget = d.percent()?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            return Ok(self
                .require(
                    span,
                    max,
                    "retry policy",
                    "max",
                    "retries: { max: 2, backoff: exponential }",
                )
                .map(|(span, max)| {
                    Spanned::new(
                        Retries::Policy(Box::new(RetryPolicy {
                            max,
                            backoff,
                            budget,
                        })),
                        span,
                    )
                }));
        }
        Ok(self
            .uint()?
            .map(|n| Spanned::new(Retries::Count(n.value), n.span)))
    }

    fn circuit_breaker(&mut self) -> R<Option<Spanned<CircuitBreaker>>> {
        if matches!(self.ev.peek()?.event, Event::MappingStart(..)) {
            let mut p = BreakerPolicy {
                failure_rate: None,
                open_for: None,
            };
            let span = self.map_struct("circuit breaker settings", BREAKER_FIELDS, |d, key| {
                match &*key.text {
                    "failure_rate" => p.failure_rate = d.percent()?,
                    "open_for" => p.open_for = d.duration()?.map(|x| x.value),
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            return Ok(span.map(|span| Spanned::new(CircuitBreaker::Policy(Box::new(p)), span)));
        }
        Ok(self
            .bool()?
            .map(|b| Spanned::new(CircuitBreaker::Enabled(b.value), b.span)))
    }

    fn batch(&mut self) -> R<Option<Spanned<Batch>>> {
        if matches!(self.ev.peek()?.event, Event::MappingStart(..)) {
            let mut items = None;
            let span = self.map_struct("batch settings", BATCH_FIELDS, |d, key| {
                match &*key.text {
                    "items" => items = d.uint()?.map(|x| x.value),
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            return Ok(self
                .require(span, items, "batch", "items", "batch: { items: 100 }")
                .map(|(span, items)| Spanned::new(Batch::Items(BatchItems { items }), span)));
        }
        Ok(self
            .bool()?
            .map(|b| Spanned::new(Batch::Enabled(b.value), b.span)))
    }

    fn needs(&mut self) -> R<Option<Box<Needs>>> {
        let mut n = Needs::default();
        let span = self.map_struct("`needs`", NEEDS_FIELDS, |d, key| {
            match &*key.text {
                "user_waits" => n.user_waits = d.bool()?,
                "consistency" => n.consistency = d.keyword()?,
                "decoupling" => n.decoupling = d.bool()?,
                "spikes" => n.spikes = d.keyword()?,
                "replay" => n.replay = d.bool()?,
                "dominant" => n.dominant = d.keyword()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(span.map(|span| Box::new(Needs { span, ..n })))
    }

    fn request(&mut self) -> R<Option<Request>> {
        let mut r = Request::default();
        let mut to = None;
        let span = self.map_struct("a request (`- to: channel`)", REQUEST_FIELDS, |d, key| {
            if key.text == "to" {
                to = d.name()?;
                return Ok(true);
            }
            d.request_option(&mut r.options, &key.text)
        })?;
        Ok(self
            .require(span, to, "request", "to", "- to: fraud-requests")
            .map(|(span, to)| Request { to, span, ..r }))
    }

    fn publish(&mut self) -> R<Option<Publish>> {
        let mut p = Publish::default();
        let mut to = None;
        let span = self.map_struct("a publish (`- to: channel`)", PUBLISH_FIELDS, |d, key| {
            match &*key.text {
                "to" => to = d.name()?,
                "message" => p.message = d.name()?,
                "critical" => p.critical = d.bool()?,
                "via" => p.via = d.keyword()?,
                "user_action" => p.user_action = d.bool()?,
                "feedback" => p.feedback = d.keyword()?,
                "needs" => p.needs = d.needs()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(self
            .require(span, to, "publish", "to", "- to: order-events")
            .map(|(span, to)| Publish { to, span, ..p }))
    }

    fn consume(&mut self) -> R<Option<Consume>> {
        let mut c = Consume::default();
        let mut from = None;
        let span = self.map_struct("a consume (`- from: channel`)", CONSUME_FIELDS, |d, key| {
            match &*key.text {
                "from" => from = d.name()?,
                "message" => c.message = d.name()?,
                "idempotent" => c.idempotent = d.bool()?,
                "idempotency" => c.idempotency = d.idempotency()?,
                "ordering" => c.ordering = d.keyword()?,
                "concurrency" => c.concurrency = d.uint()?,
                "delivery" => c.delivery = d.keyword()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(self
            .require(span, from, "consume", "from", "- from: order-events")
            .map(|(span, from)| Consume { from, span, ..c }))
    }

    fn idempotency(&mut self) -> R<Option<Idempotency>> {
        let mut i = Idempotency::default();
        let span = self.map_struct("`idempotency`", IDEMPOTENCY_FIELDS, |d, key| {
            match &*key.text {
                "key" => i.key = d.string()?,
                "store" => i.store = d.name()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(span.map(|span| Idempotency { span, ..i }))
    }

    fn external(&mut self, name: Spanned<Name>) -> R<Option<External>> {
        let mut e = External {
            name,
            ..External::default()
        };
        let ok = self.map_struct("an external", EXTERNAL_FIELDS, |d, key| {
            match &*key.text {
                "description" => e.description = d.string()?.map(Box::new),
                "owner" => e.owner = d.string()?,
                "latency" => e.latency = d.latency()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| e))
    }

    fn channel(&mut self, name: Spanned<Name>) -> R<Option<Channel>> {
        let mut c = Channel {
            name,
            ..Channel::default()
        };
        let ok = self.map_struct("a channel", CHANNEL_FIELDS, |d, key| {
            match &*key.text {
                "kind" => c.kind = d.keyword()?,
                "description" => c.description = d.string()?.map(Box::new),
                "owner" => c.owner = d.string()?,
                "broker" => c.broker = d.name()?,
                "messages" => c.messages = d.names("a list of message names")?,
                "partitions" => c.partitions = d.uint()?.map(Box::new),
                "key" => c.key = d.string()?.map(Box::new),
                "dead_letter" => c.dead_letter = d.name()?,
                "reason" => c.reason = d.string()?.map(Box::new),
                "max_deliveries" => c.max_deliveries = d.uint()?.map(Box::new),
                "alerts" => c.alerts = d.alerts()?,
                "max_depth" => c.max_depth = d.uint()?.map(Box::new),
                "overflow" => c.overflow = d.keyword()?.map(Box::new),
                "retention" => c.retention = d.duration()?.map(Box::new),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| c))
    }

    fn alerts(&mut self) -> R<Option<Alerts>> {
        let mut a = Alerts::default();
        let span = self.map_struct("`alerts`", ALERTS_FIELDS, |d, key| {
            match &*key.text {
                "depth" => a.depth = d.uint()?,
                "age" => a.age = d.duration()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(span.map(|span| Alerts { span, ..a }))
    }

    fn broker(&mut self, name: Spanned<Name>) -> R<Option<Broker>> {
        let mut b = Broker {
            name,
            ..Broker::default()
        };
        let ok = self.map_struct("a broker", BROKER_FIELDS, |d, key| {
            match &*key.text {
                "kind" => b.kind = d.keyword()?,
                "schema_registry" => b.schema_registry = d.bool()?,
                "description" => b.description = d.string()?.map(Box::new),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| b))
    }

    fn message(&mut self, name: Spanned<Name>) -> R<Option<Message>> {
        let mut m = Message {
            name,
            ..Message::default()
        };
        let ok = self.map_struct("a message contract", MESSAGE_FIELDS, |d, key| {
            match &*key.text {
                "version" => m.version = d.version()?,
                "schema" => m.schema = d.string()?.map(Box::new),
                "format" => m.format = d.keyword()?,
                "compatibility" => m.compatibility = d.keyword()?,
                "description" => m.description = d.string()?.map(Box::new),
                "owner" => m.owner = d.string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| m))
    }

    fn datastore(&mut self, name: Spanned<Name>) -> R<Option<Datastore>> {
        let mut s = Datastore {
            name,
            ..Datastore::default()
        };
        let ok = self.map_struct("a datastore", DATASTORE_FIELDS, |d, key| {
            match &*key.text {
                "kind" => s.kind = d.string()?,
                "description" => s.description = d.string()?.map(Box::new),
                "owner" => s.owner = d.string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ok.map(|_| s))
    }

    fn operations(&mut self) -> R<Option<Operations>> {
        let mut o = Operations::default();
        let span = self.map_struct("`operations`", OPERATIONS_FIELDS, |d, key| {
            match &*key.text {
                "broker_experience" => o.broker_experience = d.bool()?,
                "dlq_runbooks" => o.dlq_runbooks = d.bool()?,
                "tracing" => o.tracing = d.bool()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(span.map(|span| Operations { span, ..o }))
    }

    fn allow(&mut self) -> R<Option<Allow>> {
        let mut a = Allow::default();
        let mut rule = None;
        let mut reason = None;
        let span = self.map_struct("an allow entry", ALLOW_FIELDS, |d, key| {
            match &*key.text {
                "rule" => rule = d.string()?,
                "at" => a.at = d.string()?,
                "reason" => reason = d.string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let Some((span, rule)) =
            self.require(span, rule, "allow entry", "rule", "- rule: missing-timeout")
        else {
            return Ok(None);
        };
        let reason = match reason {
            Some(r) if !r.value.trim().is_empty() => r,
            _ => {
                self.invalid_help(
                    span,
                    "this allow entry has no `reason`: every suppression says why".into(),
                    "add `reason: <why this finding is accepted>`".into(),
                );
                return Ok(None);
            }
        };
        Ok(Some(Allow {
            rule,
            at: a.at,
            reason,
            span,
        }))
    }
}

fn is_semver(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
