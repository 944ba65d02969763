//! Property tests over valid topologies: generated ones (a proptest strategy that builds random
//! small topologies of every node kind and field shape), every valid fixture and example, and
//! synthetic topologies of random sizes and seeds.
//!
//! - Any valid topology renders into every output format without panic, and the JSON and SARIF
//!   reports parse.
//! - Reordering every map and list of nodes, and splitting files into several files, gives the
//!   same findings, positions aside.
//! - An `allow` entry with `at:` = a finding's path and a reason removes exactly the findings that
//!   path covers for that rule (the finding, and any of the same rule under it), which then
//!   appear in `suppressed`; nothing else changes.
//!
//! A topology is handled as JSON values, one per file (YAML's core schema read into JSON), and
//! written back as YAML in block or flow style with every map in a random order.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use topolint::Analysis;
use topolint::diagnostic::Diagnostic;
use topolint::lints::engine::path_covers;
use topolint::load::Plain;
use topolint::report::{self, Format, Report};
use topolint::synth::{self, Rng};

use common::{check_texts, files_under, root, yaml_to_json};

// ---------------------------------------------------------------------------------------------
// Writing YAML

/// Whether a string can be written plain and still read as the same string.
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'%' | b'/'))
        && !s.starts_with(['-', '.', '%'])
        && Plain::resolve(s, saphyr_parser::ScalarStyle::Plain) == Plain::Str
}

fn scalar(v: &Value, rng: &mut Rng) -> String {
    match v {
        Value::String(s) if plain_ok(s) && rng.chance(70) => s.clone(),
        Value::String(s) => serde_json::to_string(s).unwrap(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The entries of a map in a random order.
fn shuffled<'a>(map: &'a Map<String, Value>, rng: &mut Rng) -> Vec<(&'a String, &'a Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    for i in (1..entries.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        entries.swap(i, j);
    }
    entries
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Flow style: `{ a: 1, b: [x, y] }`.
fn flow(v: &Value, rng: &mut Rng, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in shuffled(map, rng).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&scalar(&Value::String(k.clone()), rng));
                out.push_str(": ");
                flow(v, rng, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(v, rng, out);
            }
            out.push(']');
        }
        _ => out.push_str(&scalar(v, rng)),
    }
}

/// Block style below the top level, with a random share of flow-style collections.
fn block(v: &Value, indent: usize, rng: &mut Rng, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, v) in shuffled(map, rng) {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(k.clone()), rng));
                out.push(':');
                write_value(v, indent, rng, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                match v {
                    // A map as a list item starts on the dash's line.
                    Value::Object(map) if !map.is_empty() && rng.chance(70) => {
                        let mut inner = String::new();
                        block(v, indent + 2, rng, &mut inner);
                        out.push(' ');
                        out.push_str(&inner[indent + 2..]);
                    }
                    _ => write_value(v, indent, rng, out),
                }
            }
        }
        _ => {
            out.push_str(&pad);
            out.push_str(&scalar(v, rng));
            out.push('\n');
        }
    }
}

/// A value after `key:` or `-`: inline when a scalar, an empty collection or by chance in flow
/// style, otherwise indented on the next lines.
fn write_value(v: &Value, indent: usize, rng: &mut Rng, out: &mut String) {
    let empty = match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    };
    if is_scalar(v) || empty || rng.chance(20) {
        out.push(' ');
        flow(v, rng, out);
        out.push('\n');
    } else {
        out.push('\n');
        block(v, indent + 2, rng, out);
    }
}

/// One file's YAML. The top-level sections come in an order drawn from `rng`, and each section
/// is written with its own generator seeded from that draw and the section's name, so that adding
/// an `allow` entry (as the allow property does) leaves the order of every other section, and so
/// where findings are placed, as it was.
fn to_yaml(file: &Value, rng: &mut Rng) -> String {
    let mut out = String::new();
    let Value::Object(map) = file else {
        block(file, 0, rng, &mut out);
        return out;
    };
    let salt = rng.next_u64();
    let key_seed = |k: &str| {
        k.bytes()
            .fold(salt, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3))
    };
    let mut sections: Vec<_> = map.iter().collect();
    sections.sort_by_key(|(k, _)| key_seed(k));
    for (k, v) in sections {
        let mut section_rng = Rng::new(key_seed(k));
        out.push_str(&scalar(&Value::String(k.clone()), &mut section_rng));
        out.push(':');
        write_value(v, 0, &mut section_rng, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reordering and splitting

/// Sections whose entries are named nodes, spread over files when a file is split.
const NODE_SECTIONS: &[&str] = &[
    "services",
    "externals",
    "channels",
    "brokers",
    "messages",
    "datastores",
];

/// Splits each file into `parts` files (nodes and allow entries dealt at random; `defaults`,
/// which apply to the services of their own file, copied into each; the rest kept in the
/// first), then shuffles the files. Maps are reordered when written.
fn split(files: &[Value], rng: &mut Rng, max_parts: u64) -> Vec<Value> {
    let mut out = Vec::new();
    for file in files {
        let Value::Object(map) = file else {
            out.push(file.clone());
            continue;
        };
        let parts = 1 + rng.below(max_parts) as usize;
        let mut pieces: Vec<Map<String, Value>> = (0..parts)
            .map(|_| {
                let mut m = Map::new();
                m.insert("topolint".into(), json!(1));
                if let Some(d) = map.get("defaults") {
                    m.insert("defaults".into(), d.clone());
                }
                m
            })
            .collect();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("topolint" | "defaults", _) => {}
                (section, Value::Object(nodes)) if NODE_SECTIONS.contains(&section) => {
                    for (name, node) in nodes {
                        let piece = &mut pieces[rng.below(parts as u64) as usize];
                        piece
                            .entry(section)
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                            .unwrap()
                            .insert(name.clone(), node.clone());
                    }
                }
                ("allow", Value::Array(entries)) => {
                    for entry in entries {
                        let piece = &mut pieces[rng.below(parts as u64) as usize];
                        piece
                            .entry("allow")
                            .or_insert_with(|| json!([]))
                            .as_array_mut()
                            .unwrap()
                            .push(entry.clone());
                    }
                }
                _ => {
                    pieces[0].insert(key.clone(), value.clone());
                }
            }
        }
        out.extend(pieces.into_iter().map(Value::Object));
    }
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Loads and lints files given as values, written with `seed`'s choices of order and style.
fn analyze_values(files: &[Value], seed: u64) -> (Analysis, Vec<String>) {
    let mut rng = Rng::new(seed);
    let texts: Vec<String> = files.iter().map(|f| to_yaml(f, &mut rng)).collect();
    let names: Vec<String> = (0..files.len())
        .map(|i| format!("part{i}.topology.yaml"))
        .collect();
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .zip(&texts)
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    (check_texts(&pairs), texts)
}

/// A finding without its position: code, severity, path, identity, and the words of its
/// message in sorted order (messages name nodes in the order they are declared: "written by a
/// and b" becomes "written by b and a" when the two are swapped, which is the same finding).
type Finding = (String, String, String, String, Vec<String>);

fn finding(d: &Diagnostic) -> Finding {
    let mut words: Vec<String> = d
        .message
        .split_whitespace()
        .map(|w| w.trim_end_matches([',', ';']).to_string())
        .collect();
    words.sort();
    // A cycle is reported at its member defined first (RULES.md): where it is reported is a
    // position, so a cycle is the same finding when it names the same members.
    if d.code == "S107" {
        words.dedup();
        return (
            d.code.to_string(),
            d.severity.to_string(),
            String::new(),
            String::new(),
            words,
        );
    }
    (
        d.code.to_string(),
        d.severity.to_string(),
        d.path.clone().unwrap_or_default(),
        d.identity.clone().unwrap_or_default(),
        words,
    )
}

fn findings(analysis: &Analysis) -> Vec<Finding> {
    let mut out: Vec<Finding> = analysis.diagnostics.iter().map(finding).collect();
    out.sort();
    out
}

fn shown(texts: &[String]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!("--- part{i}.topology.yaml\n{t}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The properties

/// (a) Renders in every format; JSON and SARIF parse. A new format must be added here.
fn renders_everywhere(analysis: &Analysis) -> Result<(), TestCaseError> {
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    for &format in Format::value_variants() {
        let text = report::render(format, &report, false);
        match format {
            Format::Json | Format::Sarif => {
                let parsed: Result<Value, _> = serde_json::from_str(&text);
                prop_assert!(parsed.is_ok(), "{format:?} does not parse: {text}");
            }
            Format::Human | Format::Concise | Format::Github => {}
        }
    }
    report::render(Format::Human, &report, true);
    Ok(())
}

fn valid(analysis: &Analysis, texts: &[String]) -> Result<(), TestCaseError> {
    prop_assert!(
        !analysis.has_load_errors(),
        "not a valid topology: {:?}\n{}",
        findings(analysis),
        shown(texts)
    );
    Ok(())
}

/// (b) Reordered and split, the same findings.
fn same_findings_when_reordered(
    files: &[Value],
    seed: u64,
    max_parts: u64,
) -> Result<(), TestCaseError> {
    let (base, texts) = analyze_values(files, seed);
    valid(&base, &texts)?;
    renders_everywhere(&base)?;
    let mut rng = Rng::new(seed ^ 0x5eed);
    let parts = split(files, &mut rng, max_parts);
    let (moved, moved_texts) = analyze_values(&parts, rng.next_u64());
    prop_assert_eq!(
        findings(&base),
        findings(&moved),
        "\nbefore:\n{}\nafter:\n{}",
        shown(&texts),
        shown(&moved_texts)
    );
    Ok(())
}

/// (c) An allow for each finding (up to `limit` of them) removes exactly what its `at` covers.
fn allow_removes_exactly(files: &[Value], seed: u64, limit: usize) -> Result<(), TestCaseError> {
    let (base, texts) = analyze_values(files, seed);
    valid(&base, &texts)?;
    let before = findings(&base);
    let mut rng = Rng::new(seed);
    let mut targets: Vec<&Diagnostic> = base.diagnostics.iter().collect();
    // Findings about allow entries themselves cannot be allowed.
    targets.retain(|d| d.code != "L001");
    for i in (1..targets.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        targets.swap(i, j);
    }
    for target in targets.into_iter().take(limit) {
        let mut entry = Map::new();
        entry.insert("rule".into(), json!(target.code));
        if let Some(path) = &target.path {
            entry.insert("at".into(), json!(path));
        }
        entry.insert("reason".into(), json!("accepted in a property test"));
        let mut changed = files.to_vec();
        let first = changed[0].as_object_mut().unwrap();
        first
            .entry("allow")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .push(Value::Object(entry));
        let (after, after_texts) = analyze_values(&changed, seed);
        // What the entry covers: the finding, and any finding of its rule under its path.
        let covered = |d: &Diagnostic| {
            d.code == target.code
                && match (&target.path, &d.path) {
                    (None, _) => true,
                    (Some(at), Some(path)) => path_covers(at, path),
                    (Some(_), None) => false,
                }
        };
        let expected: Vec<Finding> = base
            .diagnostics
            .iter()
            .filter(|d| !covered(d))
            .map(finding)
            .collect();
        let mut expected = expected;
        expected.sort();
        let context = || {
            format!(
                "allowing {} at {:?}\nbefore: {before:?}\n{}",
                target.code,
                target.path,
                shown(&after_texts)
            )
        };
        prop_assert_eq!(findings(&after), expected, "{}", context());
        let mut suppressed: Vec<Finding> = after
            .suppressed
            .iter()
            .map(|s| finding(&s.diagnostic))
            .collect();
        suppressed.sort();
        let mut newly: Vec<Finding> = base
            .diagnostics
            .iter()
            .filter(|d| covered(d))
            .map(finding)
            .collect();
        newly.extend(base.suppressed.iter().map(|s| finding(&s.diagnostic)));
        newly.sort();
        prop_assert_eq!(suppressed, newly, "{}", context());
        prop_assert!(
            after
                .suppressed
                .iter()
                .any(|s| finding(&s.diagnostic) == finding(target)),
            "{}",
            context()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generated topologies

/// How many nodes of each kind a generated topology has.
#[derive(Debug, Clone, Copy)]
struct Counts {
    services: usize,
    externals: usize,
    channels: usize,
    messages: usize,
    datastores: usize,
    brokers: usize,
}

type Field = Option<(String, Value)>;

fn opt(name: &'static str, s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Field> {
    prop::option::weighted(0.5, s)
        .prop_map(move |v| v.map(|v| (name.to_string(), v)))
        .boxed()
}

fn req(name: &'static str, s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Field> {
    s.prop_map(move |v| Some((name.to_string(), v))).boxed()
}

fn object(fields: Vec<BoxedStrategy<Field>>) -> BoxedStrategy<Value> {
    fields
        .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
        .boxed()
}

fn word(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(words).prop_map(Value::from).boxed()
}

fn boolean() -> BoxedStrategy<Value> {
    any::<bool>().prop_map(Value::from).boxed()
}

fn uint(range: std::ops::Range<u64>) -> BoxedStrategy<Value> {
    range.prop_map(Value::from).boxed()
}

fn duration() -> BoxedStrategy<Value> {
    prop_oneof![
        (1u64..5000).prop_map(|n| format!("{n}ms")),
        (1u64..120).prop_map(|n| format!("{n}s")),
        (1u64..20, 1u64..10).prop_map(|(a, b)| format!("{a}.{b}s")),
        (1u64..100_000).prop_map(|n| format!("{n}us")),
        (1u64..60).prop_map(|n| format!("{n}m")),
        (1u64..48).prop_map(|n| format!("{n}h")),
        (1u64..30).prop_map(|n| format!("{n}d")),
    ]
    .prop_map(Value::from)
    .boxed()
}

fn percent() -> BoxedStrategy<Value> {
    prop_oneof![
        (0u64..=100).prop_map(|n| json!(format!("{n}%"))),
        (0u64..=100).prop_map(|n| json!(n as f64 / 100.0)),
    ]
    .boxed()
}

fn latency() -> BoxedStrategy<Value> {
    (1u64..200, 0u64..800, any::<bool>())
        .prop_map(|(p50, extra, both)| {
            let mut m = Map::new();
            if both {
                m.insert("p50".into(), json!(format!("{p50}ms")));
            }
            m.insert("p99".into(), json!(format!("{}ms", p50 + extra)));
            Value::Object(m)
        })
        .boxed()
}

/// A name of the `i`-th node of a kind.
fn name(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

fn names_of(prefix: &'static str, n: usize) -> BoxedStrategy<Value> {
    if n == 0 {
        return Just(json!([])).boxed();
    }
    prop::collection::vec(0..n, 0..3)
        .prop_map(move |is| {
            let mut is = is;
            is.sort();
            is.dedup();
            Value::from(is.into_iter().map(|i| name(prefix, i)).collect::<Vec<_>>())
        })
        .boxed()
}

fn pick_name(prefix: &'static str, n: usize) -> BoxedStrategy<Value> {
    (0..n.max(1))
        .prop_map(move |i| json!(name(prefix, i)))
        .boxed()
}

fn needs() -> BoxedStrategy<Value> {
    object(vec![
        opt("user_waits", boolean()),
        opt("consistency", word(&["immediate", "eventual"])),
        opt("decoupling", boolean()),
        opt("spikes", word(&["absorb", "shed"])),
        opt("replay", boolean()),
        opt(
            "dominant",
            word(&[
                "latency",
                "resilience",
                "simplicity",
                "auditability",
                "read-speed",
            ]),
        ),
    ])
}

/// The options of a call (all of `defaults.calls`).
fn call_options() -> Vec<BoxedStrategy<Field>> {
    vec![
        opt(
            "protocol",
            word(&["http", "grpc", "thrift", "graphql", "other"]),
        ),
        opt("timeout", duration()),
        opt(
            "retries",
            prop_oneof![
                uint(0..6),
                object(vec![
                    req("max", uint(0..6)),
                    opt("backoff", word(&["none", "fixed", "linear", "exponential"])),
                    opt("budget", percent()),
                ]),
            ],
        ),
        opt(
            "circuit_breaker",
            prop_oneof![
                boolean(),
                object(vec![
                    opt("failure_rate", percent()),
                    opt("open_for", duration())
                ]),
            ],
        ),
        opt("fan_out", uint(1..12)),
        opt(
            "batch",
            prop_oneof![
                Just(json!(false)),
                uint(1..200).prop_map(|n| json!({ "items": n })),
            ],
        ),
        opt("in_transaction", boolean()),
        opt("needs", needs()),
    ]
}

fn call(c: Counts) -> BoxedStrategy<Value> {
    let targets = c.services + c.externals;
    let to = (0..targets)
        .prop_map(move |i| {
            if i < c.services {
                json!(name("svc-", i))
            } else {
                json!(name("ext-", i - c.services))
            }
        })
        .boxed();
    let mut fields = vec![req("to", to)];
    fields.extend(call_options());
    object(fields)
}

fn request(c: Counts) -> BoxedStrategy<Value> {
    object(vec![
        req("to", pick_name("ch-", c.channels)),
        opt("reply", pick_name("ch-", c.channels)),
        opt("message", pick_name("Msg", c.messages.max(1))),
        opt("timeout", duration()),
        opt("needs", needs()),
    ])
}

fn publish(c: Counts) -> BoxedStrategy<Value> {
    object(vec![
        req("to", pick_name("ch-", c.channels)),
        opt("message", pick_name("Msg", c.messages.max(1))),
        opt("critical", boolean()),
        opt("via", word(&["direct", "outbox", "cdc"])),
        opt("user_action", boolean()),
        opt(
            "feedback",
            word(&["status-endpoint", "notification", "websocket", "none"]),
        ),
        opt("needs", needs()),
    ])
}

fn consume(c: Counts) -> BoxedStrategy<Value> {
    let mut fields = vec![
        req("from", pick_name("ch-", c.channels)),
        opt("message", pick_name("Msg", c.messages.max(1))),
        opt("idempotent", boolean()),
        opt("ordering", word(&["none", "per-key", "total"])),
        opt("concurrency", uint(1..32)),
        opt(
            "delivery",
            word(&["at-least-once", "at-most-once", "exactly-once"]),
        ),
    ];
    if c.datastores > 0 {
        fields.push(opt(
            "idempotency",
            object(vec![
                opt("key", word(&["orderId", "id", "eventId"])),
                opt("store", pick_name("db-", c.datastores)),
            ]),
        ));
    }
    object(fields)
}

fn list(item: BoxedStrategy<Value>, max: usize, possible: bool) -> BoxedStrategy<Value> {
    if !possible {
        return Just(json!([])).boxed();
    }
    prop::collection::vec(item, 0..max)
        .prop_map(Value::from)
        .boxed()
}

fn service(c: Counts) -> BoxedStrategy<Value> {
    let sync = c.services + c.externals > 0;
    let chans = c.channels > 0;
    object(vec![
        opt("owner", word(&["team-a", "team-b", "team-c"])),
        opt(
            "description",
            Just(json!("a service: with punctuation, # and 'quotes'")),
        ),
        opt("user_facing", boolean()),
        opt("latency", latency()),
        opt("budget", duration()),
        opt("calls", list(call(c), 4, sync)),
        opt("requests", list(request(c), 2, chans)),
        opt("publishes", list(publish(c), 3, chans)),
        opt("consumes", list(consume(c), 3, chans)),
        opt("reads", names_of("db-", c.datastores)),
        opt("writes", names_of("db-", c.datastores)),
    ])
}

fn channel(c: Counts) -> BoxedStrategy<Value> {
    let mut fields = vec![
        opt("kind", word(&["queue", "topic", "stream"])),
        opt("owner", word(&["team-a", "team-b"])),
        opt("messages", names_of("Msg", c.messages)),
        opt("partitions", uint(1..64)),
        opt("key", word(&["orderId", "id"])),
        opt("max_deliveries", uint(1..20)),
        opt(
            "alerts",
            object(vec![opt("depth", uint(1..100_000)), opt("age", duration())]),
        ),
        opt("max_depth", uint(1..10_000_000)),
        opt(
            "overflow",
            word(&["reject", "drop-oldest", "block", "grow"]),
        ),
        opt("retention", duration()),
    ];
    if c.brokers > 0 {
        fields.push(opt("broker", pick_name("broker-", c.brokers)));
    }
    // A dead-letter channel, or `none` with a reason.
    let dead_letter = prop_oneof![
        pick_name("ch-", c.channels).prop_map(|n| vec![("dead_letter".to_string(), n)]),
        Just(vec![
            ("dead_letter".to_string(), json!("none")),
            (
                "reason".to_string(),
                json!("replies expire with the request")
            ),
        ]),
    ];
    (object(fields), prop::option::of(dead_letter))
        .prop_map(|(mut v, dl)| {
            if let (Value::Object(m), Some(dl)) = (&mut v, dl) {
                m.extend(dl);
            }
            v
        })
        .boxed()
}

fn message() -> BoxedStrategy<Value> {
    object(vec![
        opt(
            "version",
            prop_oneof![
                uint(0..10),
                (0u64..4, 0u64..10, 0u64..10).prop_map(|(a, b, c)| json!(format!("{a}.{b}.{c}"))),
            ],
        ),
        opt(
            "format",
            word(&["avro", "protobuf", "json-schema", "other"]),
        ),
        opt(
            "compatibility",
            word(&["backward", "forward", "full", "none"]),
        ),
        opt("schema", Just(json!("schemas/m.avsc"))),
    ])
}

fn broker() -> BoxedStrategy<Value> {
    object(vec![
        opt(
            "kind",
            word(&[
                "kafka", "rabbitmq", "sqs", "pubsub", "nats", "pulsar", "other",
            ]),
        ),
        opt("schema_registry", boolean()),
    ])
}

/// An allow entry of a rule, at a service or one of its first calls, or anywhere: it may
/// suppress findings or be unused (L001).
fn allow(c: Counts) -> BoxedStrategy<Value> {
    let codes: Vec<&'static str> = topolint::lints::RULES
        .iter()
        .map(|r| r.meta.code)
        .filter(|code| !code.starts_with(['T', 'L']))
        .collect();
    let at = prop_oneof![
        (0..c.services).prop_map(|i| Some(format!("services.{}", name("svc-", i)))),
        (0..c.services, 0usize..3)
            .prop_map(|(i, k)| Some(format!("services.{}.calls[{k}]", name("svc-", i)))),
        Just(None),
    ];
    (prop::sample::select(codes), at)
        .prop_map(|(code, at)| {
            let mut m = Map::new();
            m.insert("rule".into(), json!(code));
            // A cycle is reported at its member defined first (RULES.md), so an S107 allow `at`
            // one member covers it in some orders of the files and not in others: reordering may
            // change what it suppresses, by design. (Property (c) allows S107 at its reported path.)
            let at = at.filter(|_| code != "S107");
            if let Some(at) = at {
                m.insert("at".into(), json!(at));
            }
            m.insert("reason".into(), json!("accepted: generated"));
            Value::Object(m)
        })
        .boxed()
}

fn nodes(prefix: &'static str, n: usize, item: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop::collection::vec(item, n)
        .prop_map(move |items| {
            Value::Object(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (name(prefix, i), v))
                    .collect(),
            )
        })
        .boxed()
}

/// A valid topology in one file, as a JSON value.
fn topology() -> impl Strategy<Value = Value> {
    (
        1usize..7,
        0usize..3,
        0usize..5,
        0usize..4,
        0usize..4,
        0usize..3,
    )
        .prop_flat_map(
            |(services, externals, channels, messages, datastores, brokers)| {
                let c = Counts {
                    services,
                    externals,
                    channels,
                    messages,
                    datastores,
                    brokers,
                };
                let defaults = object(vec![
                    opt("calls", object(call_options())),
                    opt(
                        "requests",
                        object(vec![opt("timeout", duration()), opt("needs", needs())]),
                    ),
                ]);
                let operations = object(vec![
                    opt("broker_experience", boolean()),
                    opt("dlq_runbooks", boolean()),
                    opt("tracing", boolean()),
                ]);
                object(vec![
                    req("topolint", Just(json!(1))),
                    opt("system", Just(json!("generated"))),
                    opt("defaults", defaults),
                    req("services", nodes("svc-", services, service(c))),
                    req(
                        "externals",
                        nodes(
                            "ext-",
                            externals,
                            object(vec![
                                opt("description", Just(json!("a third party"))),
                                opt("latency", latency()),
                            ]),
                        ),
                    ),
                    req("channels", nodes("ch-", channels, channel(c))),
                    req("messages", nodes("Msg", messages, message())),
                    req(
                        "datastores",
                        nodes(
                            "db-",
                            datastores,
                            object(vec![opt(
                                "kind",
                                word(&["postgres", "redis", "s3", "dynamodb"]),
                            )]),
                        ),
                    ),
                    req("brokers", nodes("broker-", brokers, broker())),
                    opt("operations", operations),
                    opt("allow", list(allow(c), 3, true)),
                ])
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The fixtures and synthetic topologies, as values

/// Every valid fixture and example: each file alone, and each folder of files as one topology.
fn fixture_topologies() -> Vec<(Vec<PathBuf>, Vec<Value>)> {
    let mut out = Vec::new();
    let mut units: Vec<Vec<PathBuf>> = Vec::new();
    for dir in ["fixtures/valid", "fixtures/examples"] {
        let dir = root().join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                units.push(files_under(&path, &[".yaml", ".yml"]));
            } else if path.to_string_lossy().ends_with(".yaml") {
                units.push(vec![path]);
            }
        }
    }
    units.sort();
    for unit in units {
        let values = unit
            .iter()
            .map(|p| yaml_to_json(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect();
        out.push((unit, values));
    }
    assert!(out.len() >= 10, "found only {} valid fixtures", out.len());
    out
}

fn synthetic(services: usize, seed: u64) -> Vec<Value> {
    vec![yaml_to_json(&synth::topology(services, seed)).unwrap()]
}

/// The findings of the files as written equal those of their values written back in order
/// and style of the writer's choosing: the YAML writer keeps meaning.
fn unchanged_by_rewriting(paths: &[PathBuf], values: &[Value]) {
    let original = common::check(paths);
    let (rewritten, texts) = analyze_values(values, 1);
    assert_eq!(
        findings(&original),
        findings(&rewritten),
        "{paths:?}: rewriting changed the findings\n{}",
        shown(&texts)
    );
}

// ---------------------------------------------------------------------------------------------
// The tests

/// `cases` cases, or `PROPTEST_CASES` for a longer run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// (a) and (b) on generated topologies.
    #[test]
    fn generated_topologies_render_and_keep_findings_when_reordered_or_split(
        topology in topology(),
        seed in any::<u64>(),
    ) {
        same_findings_when_reordered(&[topology], seed, 4)?;
    }

    /// (c) on generated topologies.
    #[test]
    fn generated_topologies_allow_removes_exactly_the_finding(
        topology in topology(),
        seed in any::<u64>(),
    ) {
        allow_removes_exactly(&[topology], seed, 6)?;
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// (a), (b) and (c) on synthetic topologies of random sizes and seeds.
    #[test]
    fn synthetic_topologies_keep_findings(services in 1usize..40, synth_seed in any::<u64>(), seed in any::<u64>()) {
        let files = synthetic(services, synth_seed);
        same_findings_when_reordered(&files, seed, 5)?;
        allow_removes_exactly(&files, seed, 3)?;
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// (a), (b) and (c) on every valid fixture and example, in random orders and splits.
    #[test]
    fn fixtures_keep_findings_when_reordered_split_or_allowed(seed in any::<u64>()) {
        for (_, files) in fixture_topologies() {
            same_findings_when_reordered(&files, seed, 3)?;
            allow_removes_exactly(&files, seed, 2)?;
        }
    }
}

/// The YAML writer itself keeps the meaning of every valid fixture and example.
#[test]
fn rewriting_a_fixture_keeps_its_findings() {
    for (paths, values) in fixture_topologies() {
        unchanged_by_rewriting(&paths, &values);
    }
}

/// Every finding kind the generator reaches, so that a generator that stops producing
/// findings is noticed.
#[test]
fn generated_topologies_reach_many_rules() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut codes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for i in 0..200 {
        let value = topology().new_tree(&mut runner).unwrap().current();
        let (analysis, texts) = analyze_values(&[value], i);
        assert!(
            !analysis.has_load_errors(),
            "{:?}\n{}",
            findings(&analysis),
            shown(&texts)
        );
        for d in &analysis.diagnostics {
            *codes.entry(d.code).or_default() += 1;
        }
    }
    eprintln!("codes reached: {codes:?}");
    assert!(codes.len() >= 20, "the generator reaches only {codes:?}");
}

/// The synthetic generator makes a topology for every size and seed, the tiny ones (where a
/// layer of services is empty) included: the fuzz harness's third run crashed on
/// `synth::topology(2, _)` calling up into an empty layer.
#[test]
fn the_synthetic_generator_makes_every_small_size() {
    for services in 0..=40 {
        let seeds = if services < 8 { 5_000 } else { 50 };
        for seed in 0..seeds {
            let text = synth::topology(services, seed);
            assert!(
                text.starts_with("topolint: 1"),
                "{services} services, seed {seed}"
            );
        }
    }
}
