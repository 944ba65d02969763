//! Typed values of the format: names, durations, percentages, versions and keyword enums.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::source::Span;

/// A value with the span it was read from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// Free text from a topology (an owner, a description, a reason). Short text is stored inline,
/// without an allocation: a large topology has an owner on nearly every node.
pub type Text = compact_str::CompactString;

/// A list inside a node: one pointer wide, with its length and capacity kept beside the items, so
/// that the many empty lists of a large topology (most services neither request nor consume)
/// cost 8 bytes each instead of 24.
pub type List<T> = thin_vec::ThinVec<T>;

/// An optional value that most nodes leave unset (a description, a budget, a fan-out): boxed, so
/// that where it is absent it costs 8 bytes instead of the 16 to 40 of the value and its span.
pub type Rare<T> = Option<Box<Spanned<T>>>;

/// The pattern every node name matches.
pub const NAME_PATTERN: &str = "^[A-Za-z][A-Za-z0-9._-]*$";

/// A node name (service, external, channel, broker, message, datastore) or a reference to one.
/// Names up to 24 bytes are stored inline (no allocation): most names are short, and a large
/// topology holds hundreds of thousands of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Name(pub compact_str::CompactString);

impl Name {
    pub fn is_valid(text: &str) -> bool {
        let mut chars = text.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "A name: a letter, then letters, digits, `.`, `_` or `-`."
        })
    }
}

/// A duration such as `250ms`, `2s`, `1.5s`, `5m`, `1h`, `7d`, held in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

/// The pattern of a duration.
pub const DURATION_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(us|ms|s|m|h|d)$";

impl Duration {
    pub fn from_millis(ms: f64) -> Duration {
        Duration((ms * 1000.0).round().max(0.0) as u64)
    }

    pub fn as_millis(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Parses `250ms`, `1.5s`, ...; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        if number.is_empty() {
            return Err(format!(
                "`{text}` is not a duration: write a number and a unit, such as `500ms`"
            ));
        }
        let micros_per = match unit {
            "us" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            "h" => 3600e6,
            "d" => 86400e6,
            "" => {
                return Err(format!(
                    "`{text}` has no unit: write `{text}ms` or `{text}s` (units: us, ms, s, m, h, d)"
                ));
            }
            other => {
                return Err(format!(
                    "`{other}` is not a duration unit in `{text}`: use us, ms, s, m, h or d"
                ));
            }
        };
        let valid =
            !number.starts_with('.') && !number.ends_with('.') && number.matches('.').count() <= 1;
        let value: f64 = match number.parse() {
            Ok(v) if valid => v,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration: the number `{number}` is malformed"
                ));
            }
        };
        let micros = value * micros_per;
        if !micros.is_finite() || micros > 1e18 {
            return Err(format!("`{text}` is too long a duration"));
        }
        Ok(Duration(micros.round() as u64))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        let units = [
            (86_400_000_000, "d"),
            (3_600_000_000, "h"),
            (60_000_000, "m"),
            (1_000_000, "s"),
        ];
        for (size, unit) in units {
            if us >= size && us.is_multiple_of(size / 10) {
                let whole = us / size;
                let tenth = (us % size) / (size / 10);
                return if tenth == 0 {
                    write!(f, "{whole}{unit}")
                } else {
                    write!(f, "{whole}.{tenth}{unit}")
                };
            }
        }
        if us.is_multiple_of(1000) {
            write!(f, "{}ms", us / 1000)
        } else if us >= 1000 {
            write!(f, "{:.1}ms", us as f64 / 1000.0)
        } else {
            write!(f, "{us}us")
        }
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: a number and a unit (us, ms, s, m, h, d), such as `250ms`, `1.5s`, `7d`."
        })
    }
}

/// A percentage: `10%` or a fraction `0.1`; held as a fraction between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

/// The pattern of a percentage written with `%`.
pub const PERCENT_PATTERN: &str = r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%$";

impl Percent {
    /// Parses `10%`; fractions come in as numbers and go through [`Percent::from_fraction`].
    pub fn parse(text: &str) -> Result<Percent, String> {
        let Some(number) = text.strip_suffix('%') else {
            return Err(format!(
                "`{text}` is not a percentage: write `10%` or a fraction such as `0.1`"
            ));
        };
        match number.parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) && !number.starts_with(['+', '-', '.']) => {
                Ok(Percent(v / 100.0))
            }
            _ => Err(format!("`{text}` is not a percentage between 0% and 100%")),
        }
    }

    pub fn from_fraction(value: f64) -> Result<Percent, String> {
        if (0.0..=1.0).contains(&value) {
            Ok(Percent(value))
        } else {
            Err(format!(
                "`{value}` is not a fraction between 0 and 1; write a percentage such as `10%`"
            ))
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", (self.0 * 1000.0).round() / 10.0)
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A percentage such as `10%`, or a fraction between 0 and 1 such as `0.1`.",
            "anyOf": [
                { "type": "string", "pattern": PERCENT_PATTERN },
                { "type": "number", "minimum": 0, "maximum": 1 }
            ]
        })
    }
}

/// A message contract version: an integer or a semver string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    Number(u64),
    Semver(String),
}

/// The pattern of a semver version string.
pub const SEMVER_PATTERN: &str = r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$";

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The contract's version: an integer (`3`) or a semver string (`\"1.2.0\"`).",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": SEMVER_PATTERN }
            ]
        })
    }
}

/// The format version, `topolint: 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatVersion;

impl JsonSchema for FormatVersion {
    fn schema_name() -> Cow<'static, str> {
        "FormatVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The version of the topology format. Always `1`.",
            "const": 1
        })
    }
}

/// A closed set of words, as used in the YAML (`per-key`, `status-endpoint`, ...).
pub trait Keyword: Sized + Copy + 'static {
    const WHAT: &'static str;
    const VALUES: &'static [(&'static str, Self)];

    fn parse(text: &str) -> Option<Self> {
        Self::VALUES
            .iter()
            .find(|(k, _)| *k == text)
            .map(|(_, v)| *v)
    }

    fn as_str(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::VALUES
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(k, _)| *k)
            .unwrap_or("?")
    }

    fn allowed() -> String {
        Self::VALUES
            .iter()
            .map(|(k, _)| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Declares a keyword enum: the Rust enum, its JSON Schema (`enum` of words) and its word table.
macro_rules! keyword_enum {
    ($(#[doc = $doc:literal])* $name:ident, $what:literal, { $($(#[doc = $vdoc:literal])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[doc = $vdoc])* $variant),+ }

        impl Keyword for $name {
            const WHAT: &'static str = $what;
            const VALUES: &'static [(&'static str, Self)] = &[$(($word, $name::$variant)),+];
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let description = [$($doc.trim()),*].join(" ");
                json_schema!({
                    "type": "string",
                    "description": description,
                    "enum": [$($word),+]
                })
            }
        }
    };
}

keyword_enum!(
    /// The protocol of a synchronous call.
    Protocol, "protocol", { Http = "http", Grpc = "grpc", Thrift = "thrift", Graphql = "graphql", Other = "other" }
);
keyword_enum!(
    /// How waits grow between retries.
    Backoff, "backoff", { None = "none", Fixed = "fixed", Linear = "linear", Exponential = "exponential" }
);
keyword_enum!(
    /// How a publish reaches the broker: `direct` (default) writes to the broker beside the database
    /// write, `outbox` writes the message in the same transaction, `cdc` reads the database's log.
    Via, "via", { Direct = "direct", Outbox = "outbox", Cdc = "cdc" }
);
keyword_enum!(
    /// How the user learns the outcome of an accepted action.
    Feedback, "feedback", { StatusEndpoint = "status-endpoint", Notification = "notification", Websocket = "websocket", None = "none" }
);
keyword_enum!(
    /// The ordering a consumer relies on.
    Ordering, "ordering", { None = "none", PerKey = "per-key", Total = "total" }
);
keyword_enum!(
    /// The delivery guarantee the broker claims for this consumer.
    Delivery, "delivery", { AtLeastOnce = "at-least-once", AtMostOnce = "at-most-once", ExactlyOnce = "exactly-once" }
);
keyword_enum!(
    /// What a channel is.
    ChannelKind, "channel kind", { Queue = "queue", Topic = "topic", Stream = "stream" }
);
keyword_enum!(
    /// What a full channel does with a new message.
    Overflow, "overflow", { Reject = "reject", DropOldest = "drop-oldest", Block = "block", Grow = "grow" }
);
keyword_enum!(
    /// The broker product.
    BrokerKind, "broker kind", { Kafka = "kafka", Rabbitmq = "rabbitmq", Sqs = "sqs", Pubsub = "pubsub", Nats = "nats", Pulsar = "pulsar", Other = "other" }
);
keyword_enum!(
    /// The schema language of a message contract.
    MessageFormat, "message format", { Avro = "avro", Protobuf = "protobuf", JsonSchema = "json-schema", Other = "other" }
);
keyword_enum!(
    /// The compatibility policy a contract's new versions keep.
    Compatibility, "compatibility", { Backward = "backward", Forward = "forward", Full = "full", None = "none" }
);
keyword_enum!(
    /// Whether the caller must see the effect at once.
    Consistency, "consistency", { Immediate = "immediate", Eventual = "eventual" }
);
keyword_enum!(
    /// What to do with load spikes: absorb them (no request may be dropped) or shed them (fail fast).
    Spikes, "spikes", { Absorb = "absorb", Shed = "shed" }
);
keyword_enum!(
    /// The constraint that matters most on this edge; its weights count three times.
    Dominant, "dominant constraint", { Latency = "latency", Resilience = "resilience", Simplicity = "simplicity", Auditability = "auditability", ReadSpeed = "read-speed" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Duration::parse("250ms"), Ok(Duration(250_000)));
        assert_eq!(Duration::parse("1.5s"), Ok(Duration(1_500_000)));
        assert_eq!(Duration::parse("7d").unwrap().to_string(), "7d");
        assert_eq!(Duration::parse("1.5s").unwrap().to_string(), "1.5s");
        assert_eq!(Duration::parse("300ms").unwrap().to_string(), "300ms");
        assert!(Duration::parse("500").unwrap_err().contains("no unit"));
        assert!(Duration::parse("5 parsecs").is_err());
        assert!(Duration::parse("1..5s").is_err());
        assert!(Duration::parse("ms").is_err());
    }

    #[test]
    fn percentages_parse() {
        assert_eq!(Percent::parse("10%"), Ok(Percent(0.1)));
        assert!(Percent::parse("150%").is_err());
        assert!(Percent::parse("ten%").is_err());
        assert!(Percent::from_fraction(1.5).is_err());
    }

    #[test]
    fn names() {
        assert!(Name::is_valid("orders-db.v2_x"));
        assert!(!Name::is_valid("2fa"));
        assert!(!Name::is_valid("a b"));
        assert!(!Name::is_valid(""));
    }

    #[test]
    fn keywords() {
        assert_eq!(Ordering::parse("per-key"), Some(Ordering::PerKey));
        assert_eq!(Feedback::StatusEndpoint.as_str(), "status-endpoint");
        assert!(Overflow::allowed().contains("`drop-oldest`"));
    }
}
