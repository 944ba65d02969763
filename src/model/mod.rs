//! The model of topology format 1: what one file declares ([`Document`]) and the merged,
//! reference-checked topology of all files ([`Model`]).
//!
//! The structs derive [`JsonSchema`]: `schema/topology.schema.json` is generated from them, and
//! their doc comments are the descriptions editors show. Fields marked `skip` are spans and
//! bookkeeping, not part of the format.

mod values;

use std::borrow::Cow;
use std::hash::BuildHasher;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::source::{FileId, Span};
pub use values::*;

/// A mapping from node names to definitions, as written in the YAML; kept in file order.
pub struct NameMap<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for NameMap<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("NameMap_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<T>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": NAME_PATTERN },
            "additionalProperties": value
        })
    }
}

/// One topology file, format 1.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields, title = "topolint topology, format 1")]
pub struct Document {
    /// The format version; always `1`.
    #[schemars(with = "FormatVersion", required)]
    pub topolint: Option<Spanned<u64>>,
    /// The system's name.
    pub system: Option<Spanned<Text>>,
    /// What the system is for.
    pub description: Option<Spanned<Text>>,
    /// Edge fields applied where a `calls` or `requests` item of this file says nothing.
    pub defaults: Option<Defaults>,
    /// The services: processes that you deploy and that call, publish, consume and store.
    #[schemars(with = "NameMap<Service>", default)]
    pub services: Vec<Service>,
    /// Systems outside the topology's control (payment providers, carriers, SaaS APIs).
    #[schemars(with = "NameMap<External>", default)]
    pub externals: Vec<External>,
    /// Queues, topics and streams.
    #[schemars(with = "NameMap<Channel>", default)]
    pub channels: Vec<Channel>,
    /// The message brokers that host channels.
    #[schemars(with = "NameMap<Broker>", default)]
    pub brokers: Vec<Broker>,
    /// Message contracts.
    #[schemars(with = "NameMap<Message>", default)]
    pub messages: Vec<Message>,
    /// Databases, caches and object stores.
    #[schemars(with = "NameMap<Datastore>", default)]
    pub datastores: Vec<Datastore>,
    /// What the team can operate; used by `topolint advise`.
    pub operations: Option<Operations>,
    /// Suppressions: each silences one rule, optionally at one place, and says why.
    #[schemars(default)]
    pub allow: Vec<Allow>,
    /// The span of the `operations` key, when present.
    #[schemars(skip)]
    pub operations_span: Option<Span>,
}

/// Appends `more` to `list`, moving it whole when `list` is empty (no copy of a large section).
pub(crate) fn append<T>(list: &mut Vec<T>, mut more: Vec<T>) {
    if list.is_empty() {
        *list = more;
    } else {
        list.append(&mut more);
    }
}

impl Document {
    /// Joins the next part of the same file, read apart: its lists go after this one's items and
    /// its fields fill those this one lacks (the parts are known not to share a field).
    pub fn absorb(&mut self, other: Document) {
        let Document {
            topolint,
            system,
            description,
            defaults,
            services,
            externals,
            channels,
            brokers,
            messages,
            datastores,
            operations,
            allow,
            operations_span,
        } = other;
        fn or<T>(slot: &mut Option<T>, other: Option<T>) {
            if slot.is_none() {
                *slot = other;
            }
        }
        or(&mut self.topolint, topolint);
        or(&mut self.system, system);
        or(&mut self.description, description);
        or(&mut self.defaults, defaults);
        or(&mut self.operations, operations);
        or(&mut self.operations_span, operations_span);
        append(&mut self.services, services);
        append(&mut self.externals, externals);
        append(&mut self.channels, channels);
        append(&mut self.brokers, brokers);
        append(&mut self.messages, messages);
        append(&mut self.datastores, datastores);
        append(&mut self.allow, allow);
    }
}

/// Edge fields applied where an edge says nothing.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Defaults {
    /// Any `calls` field but `to`.
    pub calls: Option<CallOptions>,
    /// Any `requests` field but `to`.
    pub requests: Option<RequestOptions>,
}

/// A service: a process you deploy.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Service {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// The team that owns it.
    pub owner: Option<Spanned<Text>>,
    /// What it does.
    pub description: Rare<Text>,
    /// A person waits on its answers: it is an entrypoint.
    pub user_facing: Option<Spanned<bool>>,
    /// Its own latency, without downstream calls.
    pub latency: Option<Box<Latency>>,
    /// End-to-end p99 budget for requests entering here.
    pub budget: Rare<Duration>,
    /// Synchronous calls (HTTP, gRPC, ...).
    #[schemars(default, with = "Vec<Call>")]
    pub calls: List<Call>,
    /// Asynchronous request-reply: a request on a channel, an answer on a reply channel.
    #[schemars(default, with = "Vec<Request>")]
    pub requests: List<Request>,
    /// Fire-and-forget messages to channels.
    #[schemars(default, with = "Vec<Publish>")]
    pub publishes: List<Publish>,
    /// Channels this service consumes.
    #[schemars(default, with = "Vec<Consume>")]
    pub consumes: List<Consume>,
    /// Datastores it reads.
    #[schemars(default, with = "Vec<Spanned<Name>>")]
    pub reads: List<Spanned<Name>>,
    /// Datastores it writes.
    #[schemars(default, with = "Vec<Spanned<Name>>")]
    pub writes: List<Spanned<Name>>,
}

/// What a service's list item names another node as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `calls[i].to`.
    Call,
    /// `requests[i].to`.
    Request,
    /// `requests[i].reply`.
    Reply,
    /// `publishes[i].to`.
    Publish,
    /// `consumes[i].from`.
    Consume,
    /// `consumes[i].idempotency.store`.
    IdempotencyStore,
    /// `reads[i]`.
    Read,
    /// `writes[i]`.
    Write,
}

impl Reference {
    /// The kinds of node the name must be.
    pub const fn kinds(self) -> &'static [NodeKind] {
        match self {
            Reference::Call => &[NodeKind::Service, NodeKind::External],
            Reference::Request | Reference::Reply | Reference::Publish | Reference::Consume => {
                &[NodeKind::Channel]
            }
            Reference::IdempotencyStore | Reference::Read | Reference::Write => {
                &[NodeKind::Datastore]
            }
        }
    }
}

/// What the references of all services name ([`Model::resolve`] over the services in order, in
/// parts), as the loader found them while checking them: [`crate::graph::Graph::build_from`]
/// turns them into edges without looking every name up again. Made only by the loader, for the
/// model it returns beside them.
#[derive(Debug, Default)]
pub struct Targets {
    parts: Vec<Vec<Option<NodeRef>>>,
}

impl Targets {
    pub(crate) fn new(parts: Vec<Vec<Option<NodeRef>>>) -> Targets {
        Targets { parts }
    }

    /// The number of references.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The targets in the order of the references.
impl IntoIterator for Targets {
    type Item = Option<NodeRef>;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Option<NodeRef>>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.into_iter().flatten()
    }
}

impl Service {
    /// Every name the service refers to, with what it names it as and the index of its item in
    /// its list, in the order of the lists: calls, requests (each with its reply), publishes,
    /// consumes (each with its idempotency store), reads, writes. The loader checks these
    /// references and the graph turns them into edges, both through here.
    pub fn for_each_reference<'s>(
        &'s self,
        mut each: impl FnMut(Reference, usize, &'s Spanned<Name>),
    ) {
        for (i, call) in self.calls.iter().enumerate() {
            each(Reference::Call, i, &call.to);
        }
        for (i, request) in self.requests.iter().enumerate() {
            each(Reference::Request, i, &request.to);
            if let Some(reply) = &request.options.reply {
                each(Reference::Reply, i, reply);
            }
        }
        for (i, publish) in self.publishes.iter().enumerate() {
            each(Reference::Publish, i, &publish.to);
        }
        for (i, consume) in self.consumes.iter().enumerate() {
            each(Reference::Consume, i, &consume.from);
            if let Some(store) = consume.idempotency.as_ref().and_then(|d| d.store.as_ref()) {
                each(Reference::IdempotencyStore, i, store);
            }
        }
        for (i, store) in self.reads.iter().enumerate() {
            each(Reference::Read, i, store);
        }
        for (i, store) in self.writes.iter().enumerate() {
            each(Reference::Write, i, store);
        }
    }
}

/// Declared latency percentiles of a node's own work.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Latency {
    /// Median.
    pub p50: Option<Spanned<Duration>>,
    /// 90th percentile.
    pub p90: Rare<Duration>,
    /// 95th percentile.
    pub p95: Rare<Duration>,
    /// 99th percentile.
    pub p99: Option<Spanned<Duration>>,
    /// 99.9th percentile.
    pub p999: Rare<Duration>,
    #[schemars(skip)]
    pub span: Span,
}

/// A synchronous call.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Call {
    /// The service or external called.
    pub to: Spanned<Name>,
    #[schemars(flatten)]
    pub options: CallOptions,
    /// The list item.
    #[schemars(skip)]
    pub span: Span,
}

/// The fields of a call other than `to` (also the shape of `defaults.calls`).
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CallOptions {
    /// The protocol.
    pub protocol: Option<Spanned<Protocol>>,
    /// How long the caller waits for one attempt.
    pub timeout: Option<Spanned<Duration>>,
    /// Retries after the first attempt: a count, or a policy.
    pub retries: Option<Spanned<Retries>>,
    /// Whether a circuit breaker guards the call: `true`, or its settings.
    pub circuit_breaker: Option<Spanned<CircuitBreaker>>,
    /// Parallel calls of this edge per request.
    pub fan_out: Rare<u64>,
    /// The call is made in a loop over items: `true`, or `{ items: N }`.
    pub batch: Rare<Batch>,
    /// A database transaction or lock is held across the call.
    pub in_transaction: Option<Spanned<bool>>,
    /// What this interaction needs; see `topolint advise`.
    pub needs: Option<Box<Needs>>,
}

/// Retries after the first attempt.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum Retries {
    /// The number of retries.
    Count(u64),
    /// A retry policy.
    Policy(Box<RetryPolicy>),
}

impl Retries {
    pub fn max(&self) -> u64 {
        match self {
            Retries::Count(n) => *n,
            Retries::Policy(p) => p.max,
        }
    }
}

/// A retry policy.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max: u64,
    /// How waits grow between retries.
    pub backoff: Option<Backoff>,
    /// The share of extra load that retries may add (a retry budget), such as `10%`.
    pub budget: Option<Percent>,
}

/// A circuit breaker: `true`/`false`, or its settings (which imply `true`).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum CircuitBreaker {
    /// Whether a circuit breaker guards the call.
    Enabled(bool),
    /// The breaker's settings.
    Policy(Box<BreakerPolicy>),
}

impl CircuitBreaker {
    pub fn enabled(&self) -> bool {
        !matches!(self, CircuitBreaker::Enabled(false))
    }
}

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BreakerPolicy {
    /// The failure rate that opens the circuit, such as `50%`.
    pub failure_rate: Option<Percent>,
    /// How long the circuit stays open before a trial call.
    pub open_for: Option<Duration>,
}

/// A call made in a loop: `true`/`false`, or `{ items: N }`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum Batch {
    /// Whether the call is made in a loop over items.
    Enabled(bool),
    /// The loop's size.
    Items(BatchItems),
}

impl Batch {
    pub fn enabled(&self) -> bool {
        !matches!(self, Batch::Enabled(false))
    }
}

/// The size of a loop of calls.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BatchItems {
    /// Typical number of items per request.
    pub items: u64,
}

/// An asynchronous request-reply.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Request {
    /// The request channel.
    pub to: Spanned<Name>,
    #[schemars(flatten)]
    pub options: RequestOptions,
    #[schemars(skip)]
    pub span: Span,
}

/// The fields of a request other than `to` (also the shape of `defaults.requests`).
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RequestOptions {
    /// The channel the answer comes back on.
    pub reply: Option<Spanned<Name>>,
    /// The message sent.
    pub message: Option<Spanned<Name>>,
    /// How long the requester waits for the answer.
    pub timeout: Option<Spanned<Duration>>,
    /// What this interaction needs; see `topolint advise`.
    pub needs: Option<Box<Needs>>,
}

/// A fire-and-forget publish.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Publish {
    /// The channel.
    pub to: Spanned<Name>,
    /// The message published.
    pub message: Option<Spanned<Name>>,
    /// Losing the message leaves the system inconsistent.
    pub critical: Option<Spanned<bool>>,
    /// How the message reaches the broker: `direct` (default), `outbox` or `cdc`.
    pub via: Option<Spanned<Via>>,
    /// The user's request is answered "accepted" at this publish.
    pub user_action: Option<Spanned<bool>>,
    /// How the user learns the outcome of an accepted action.
    pub feedback: Option<Spanned<Feedback>>,
    /// What this interaction needs; see `topolint advise`.
    pub needs: Option<Box<Needs>>,
    #[schemars(skip)]
    pub span: Span,
}

/// A consumer of a channel.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Consume {
    /// The channel consumed.
    pub from: Spanned<Name>,
    /// The message consumed.
    pub message: Option<Spanned<Name>>,
    /// Processing the same message twice has the effect of processing it once.
    pub idempotent: Option<Spanned<bool>>,
    /// How idempotency is achieved: the deduplication key and where seen keys are kept.
    pub idempotency: Option<Idempotency>,
    /// The ordering this consumer relies on.
    pub ordering: Option<Spanned<Ordering>>,
    /// Messages processed in parallel.
    pub concurrency: Option<Spanned<u64>>,
    /// The delivery guarantee the broker claims.
    pub delivery: Option<Spanned<Delivery>>,
    #[schemars(skip)]
    pub span: Span,
}

/// How a consumer deduplicates.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Idempotency {
    /// The message field that identifies a duplicate.
    pub key: Option<Spanned<Text>>,
    /// The datastore that keeps the keys already processed.
    pub store: Option<Spanned<Name>>,
    #[schemars(skip)]
    pub span: Span,
}

/// What an interaction needs (see ADVISE.md).
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Needs {
    /// A person waits for this answer.
    pub user_waits: Option<Spanned<bool>>,
    /// Whether the caller must see the effect at once.
    pub consistency: Option<Spanned<Consistency>>,
    /// The callee must deploy, restart or scale on its own.
    pub decoupling: Option<Spanned<bool>>,
    /// `absorb` (no request may be dropped) or `shed` (failing fast is fine).
    pub spikes: Option<Spanned<Spikes>>,
    /// Events must be replayable (audit, recovery, compliance).
    pub replay: Option<Spanned<bool>>,
    /// The constraint that matters most on this edge.
    pub dominant: Option<Spanned<Dominant>>,
    #[schemars(skip)]
    pub span: Span,
}

/// A system outside the topology's control.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct External {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// What it is.
    pub description: Rare<Text>,
    /// Who is responsible for the relationship.
    pub owner: Option<Spanned<Text>>,
    /// Its latency as seen by callers.
    pub latency: Option<Box<Latency>>,
}

/// A queue, topic or stream.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Channel {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// `queue`, `topic` or `stream`.
    pub kind: Option<Spanned<ChannelKind>>,
    /// What it carries.
    pub description: Rare<Text>,
    /// The team that owns it.
    pub owner: Option<Spanned<Text>>,
    /// The broker that hosts it.
    pub broker: Option<Spanned<Name>>,
    /// The messages it carries.
    #[schemars(default, with = "Vec<Spanned<Name>>")]
    pub messages: List<Spanned<Name>>,
    /// Number of partitions (unset counts as 1).
    pub partitions: Rare<u64>,
    /// The partition or routing key.
    pub key: Rare<Text>,
    /// The channel that receives messages that failed `max_deliveries` times, or `none` (then
    /// `reason` is required).
    pub dead_letter: Option<Spanned<Name>>,
    /// Why there is no dead letter (with `dead_letter: none`).
    pub reason: Rare<Text>,
    /// Attempts before a message goes to the dead letter.
    pub max_deliveries: Rare<u64>,
    /// Alerting on queue depth and oldest-message age.
    pub alerts: Option<Alerts>,
    /// Backpressure: the depth beyond which the channel applies `overflow`.
    pub max_depth: Rare<u64>,
    /// What happens beyond `max_depth`.
    pub overflow: Rare<Overflow>,
    /// How long messages are kept.
    pub retention: Rare<Duration>,
}

impl Channel {
    /// `dead_letter: none`.
    pub fn dead_letter_none(&self) -> bool {
        self.dead_letter
            .as_ref()
            .is_some_and(|d| &*d.value.0 == "none")
    }
}

/// Alerting on a channel.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Alerts {
    /// Alert when this many messages wait.
    pub depth: Option<Spanned<u64>>,
    /// Alert when the oldest message is this old.
    pub age: Option<Spanned<Duration>>,
    #[schemars(skip)]
    pub span: Span,
}

/// A message broker.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Broker {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// The product.
    pub kind: Option<Spanned<BrokerKind>>,
    /// A schema registry checks every published message against its contract.
    pub schema_registry: Option<Spanned<bool>>,
    /// What it is.
    pub description: Rare<Text>,
}

/// A message contract.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Message {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// The contract's version: an integer or a semver string.
    pub version: Option<Spanned<Version>>,
    /// Path of the schema file, relative to this file.
    pub schema: Rare<Text>,
    /// The schema language.
    pub format: Option<Spanned<MessageFormat>>,
    /// The compatibility new versions keep.
    pub compatibility: Option<Spanned<Compatibility>>,
    /// What the message means.
    pub description: Rare<Text>,
    /// The team that owns the contract.
    pub owner: Option<Spanned<Text>>,
}

/// A database, cache or object store.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Datastore {
    #[schemars(skip)]
    pub name: Spanned<Name>,
    /// Free text: postgres, redis, mongodb, s3...
    pub kind: Option<Spanned<Text>>,
    /// What it holds.
    pub description: Rare<Text>,
    /// The team that owns it.
    pub owner: Option<Spanned<Text>>,
}

/// What the team can operate.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Operations {
    /// The team runs a message broker in production today.
    pub broker_experience: Option<Spanned<bool>>,
    /// Someone watches dead-letter depth and replays by a runbook.
    pub dlq_runbooks: Option<Spanned<bool>>,
    /// Request tracing across services.
    pub tracing: Option<Spanned<bool>>,
    #[schemars(skip)]
    pub span: Span,
}

/// A suppression.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Allow {
    /// The rule, by code or name.
    pub rule: Spanned<Text>,
    /// Where: a path as printed in diagnostics (`services.payments.calls[0]`); everywhere if absent.
    pub at: Option<Spanned<Text>>,
    /// Why the finding is accepted. Required.
    pub reason: Spanned<Text>,
    #[schemars(skip)]
    pub span: Span,
}

/// The kinds of named nodes; they share one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Service,
    External,
    Channel,
    Broker,
    Message,
    Datastore,
}

impl NodeKind {
    /// Every kind, in the order of the format's sections.
    pub const ALL: [NodeKind; 6] = [
        NodeKind::Service,
        NodeKind::External,
        NodeKind::Channel,
        NodeKind::Broker,
        NodeKind::Message,
        NodeKind::Datastore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Service => "service",
            NodeKind::External => "external",
            NodeKind::Channel => "channel",
            NodeKind::Broker => "broker",
            NodeKind::Message => "message",
            NodeKind::Datastore => "datastore",
        }
    }

    /// The top-level section that defines this kind.
    pub fn section(self) -> &'static str {
        match self {
            NodeKind::Service => "services",
            NodeKind::External => "externals",
            NodeKind::Channel => "channels",
            NodeKind::Broker => "brokers",
            NodeKind::Message => "messages",
            NodeKind::Datastore => "datastores",
        }
    }

    pub fn article(self) -> &'static str {
        match self {
            NodeKind::External => "an",
            _ => "a",
        }
    }
}

/// A node: its kind and index in the model's list of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeRef {
    pub kind: NodeKind,
    pub index: u32,
}

/// The merged topology of all files, with every reference resolved.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub services: Vec<Service>,
    pub externals: Vec<External>,
    pub channels: Vec<Channel>,
    pub brokers: Vec<Broker>,
    pub messages: Vec<Message>,
    pub datastores: Vec<Datastore>,
    pub operations: Option<Operations>,
    pub allow: Vec<Allow>,
    /// Each file's `system` name, if any.
    pub systems: Vec<(FileId, Spanned<Text>)>,
    /// Name → node, over the shared namespace.
    pub names: NameIndex,
}

/// Name → node over the shared namespace. The table holds only node references and compares
/// names through the model, so no name is copied.
#[derive(Clone, Default)]
pub struct NameIndex {
    table: hashbrown::HashTable<NodeRef>,
    hasher: rustc_hash::FxBuildHasher,
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NameIndex({} names)", self.table.len())
    }
}

impl NameIndex {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = NodeRef> + '_ {
        self.table.iter().copied()
    }
}

impl Model {
    /// Empties the model for a run that has linted and only reports from here on: its lists'
    /// blocks go back to the system at once, and what their items own (names, lists, boxed
    /// fields) is left to the end of the process. At 100k services, freeing every item took 50
    /// ms and gave no memory back (those blocks are small and stay in the heap); the lists'
    /// blocks are megabytes each, mapped apart, and are unmapped when freed.
    pub fn release(&mut self) {
        fn leave_items<T>(list: Vec<T>) {
            list.into_iter().for_each(std::mem::forget);
        }
        let model = std::mem::take(self);
        leave_items(model.services);
        leave_items(model.externals);
        leave_items(model.channels);
        leave_items(model.messages);
        leave_items(model.datastores);
        // The rest is small; the name index holds plain node references.
    }

    /// What every reference of `services` names: the node, when it is of a kind the reference
    /// accepts ([`Reference::kinds`]), `None` otherwise, in the order of
    /// [`Service::for_each_reference`]. `failed` is given each reference that names nothing of
    /// its kind, with the node it names instead (if any). The loader checks references and the
    /// graph turns them into edges through here; a lookup is a hash probe and usually a cache
    /// miss, so a load hands what it found on to the graph ([`Targets`]).
    pub fn resolve<'m>(
        &'m self,
        services: &'m [Service],
        mut failed: impl FnMut(Reference, &'m Spanned<Name>, Option<NodeRef>),
    ) -> Vec<Option<NodeRef>> {
        let mut found = Vec::new();
        for service in services {
            service.for_each_reference(|reference, _, name| match self.lookup(&name.value) {
                Some(node) if reference.kinds().contains(&node.kind) => found.push(Some(node)),
                other => {
                    failed(reference, name, other);
                    found.push(None);
                }
            });
        }
        found
    }

    pub fn lookup(&self, name: &str) -> Option<NodeRef> {
        self.names
            .table
            .find(self.name_hash(name), |n| {
                &*self.node_name(*n).value.0 == name
            })
            .copied()
    }

    /// Makes room for `additional` more names at once. Growing the index step by step rehashes
    /// every name registered so far, and a rehash reads each node's name (a cache miss apiece).
    pub fn reserve_names(&mut self, additional: usize) {
        // The table is taken out while it grows, so that hashing can read the nodes' names.
        let mut table = std::mem::take(&mut self.names.table);
        let hasher = self.names.hasher;
        table.reserve(additional, |n| {
            hasher.hash_one(&*self.node_name(*n).value.0)
        });
        self.names.table = table;
    }

    /// The hash the name index files a name under.
    pub fn name_hash(&self, name: &str) -> u64 {
        self.names.hasher.hash_one(name)
    }

    /// Registers a node's name, whose [`Model::name_hash`] is `hash`; returns the node already
    /// holding it, if any. The hash is the caller's to compute: the loader does it where it reads
    /// the name's place anyway, so that registering reads no name but on a clash of hashes
    /// (registering 190k names: 15-33 ms, each a cache miss into the model, before).
    pub fn register(&mut self, node: NodeRef, hash: u64) -> Result<(), NodeRef> {
        let mut table = std::mem::take(&mut self.names.table);
        let hasher = self.names.hasher;
        let name_of = |n: &NodeRef| &*self.node_name(*n).value.0;
        let found = match table.entry(
            hash,
            |n| name_of(n) == name_of(&node),
            |n| hasher.hash_one(name_of(n)),
        ) {
            hashbrown::hash_table::Entry::Occupied(e) => Err(*e.get()),
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(node);
                Ok(())
            }
        };
        self.names.table = table;
        found
    }

    /// How many nodes of a kind the model has.
    pub fn count(&self, kind: NodeKind) -> usize {
        match kind {
            NodeKind::Service => self.services.len(),
            NodeKind::External => self.externals.len(),
            NodeKind::Channel => self.channels.len(),
            NodeKind::Broker => self.brokers.len(),
            NodeKind::Message => self.messages.len(),
            NodeKind::Datastore => self.datastores.len(),
        }
    }

    /// Every node of the model, kind by kind in the order of [`NodeKind::ALL`].
    pub fn nodes(&self) -> impl Iterator<Item = NodeRef> + '_ {
        NodeKind::ALL.into_iter().flat_map(move |kind| {
            (0..self.count(kind) as u32).map(move |index| NodeRef { kind, index })
        })
    }

    pub fn node_name(&self, node: NodeRef) -> &Spanned<Name> {
        let i = node.index as usize;
        match node.kind {
            NodeKind::Service => &self.services[i].name,
            NodeKind::External => &self.externals[i].name,
            NodeKind::Channel => &self.channels[i].name,
            NodeKind::Broker => &self.brokers[i].name,
            NodeKind::Message => &self.messages[i].name,
            NodeKind::Datastore => &self.datastores[i].name,
        }
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        match self.lookup(name)? {
            NodeRef {
                kind: NodeKind::Service,
                index,
            } => Some(&self.services[index as usize]),
            _ => None,
        }
    }

    pub fn channel(&self, name: &str) -> Option<&Channel> {
        match self.lookup(name)? {
            NodeRef {
                kind: NodeKind::Channel,
                index,
            } => Some(&self.channels[index as usize]),
            _ => None,
        }
    }

    pub fn message(&self, name: &str) -> Option<&Message> {
        match self.lookup(name)? {
            NodeRef {
                kind: NodeKind::Message,
                index,
            } => Some(&self.messages[index as usize]),
            _ => None,
        }
    }

    pub fn broker(&self, name: &str) -> Option<&Broker> {
        match self.lookup(name)? {
            NodeRef {
                kind: NodeKind::Broker,
                index,
            } => Some(&self.brokers[index as usize]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large topology holds hundreds of thousands of these: the load's memory target (peak
    /// under five times the file) rests on their sizes, so growing one is a decision, not an
    /// accident. Rarely set fields go in a [`Rare`] box and lists are [`List`]s.
    #[test]
    fn nodes_and_items_stay_small() {
        use std::mem::size_of;
        let sizes = [
            ("Service", size_of::<Service>(), 168),
            ("Call", size_of::<Call>(), 200),
            ("Latency", size_of::<Latency>(), 88),
            ("Channel", size_of::<Channel>(), 312),
            ("Datastore", size_of::<Datastore>(), 128),
            ("Message", size_of::<Message>(), 168),
        ];
        for (name, size, most) in sizes {
            assert!(size <= most, "{name}: {size} bytes, more than {most}");
        }
        // An absent rare value or an empty list costs one pointer.
        assert_eq!(size_of::<Rare<Text>>(), 8);
        assert_eq!(size_of::<List<Call>>(), 8);
    }
}
