//! The rules. Every rule is one file with its metadata and its check; this registry lists them by
//! hand, in code order. The loading codes (T) and the meta code (L001) are listed too: they have
//! docs and can be named in settings, but their findings come from the loader and the engine.

mod async_without_operations;
mod budget_not_enforced;
mod deep_sync_chain;
mod dual_write_without_outbox;
mod exactly_once_claim;
mod helpers;
mod latency_budget_exceeded;
mod lock_across_call;
mod missing_circuit_breaker;
mod missing_dead_letter;
mod missing_timeout;
mod no_compatibility_policy;
mod non_idempotent_consumer;
mod ordering_hazard;
mod orphan_channel;
mod request_reply_without_reply;
mod retry_amplification;
mod shared_datastore;
mod silent_acceptance;
mod style_mismatch;
mod sync_batch_loop;
mod sync_common;
mod sync_cycle;
mod timeout_inversion;
mod unbounded_queue;
mod unmonitored_dead_letter;
mod unmonitored_queue;
mod unversioned_message;

pub mod engine;
pub mod identity;

use std::sync::OnceLock;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::graph::{Graph, SyncAnalysis};
use crate::model::Model;

/// Rules whose findings come from the loader or the engine rather than a check.
pub mod meta {
    use super::*;

    pub const YAML_SYNTAX: RuleMeta = RuleMeta {
        code: "T001",
        name: "yaml-syntax",
        severity: Severity::Error,
        summary: "the file is not readable YAML (syntax, encoding, size, nesting or alias limits)",
    };
    pub const INVALID_FIELD: RuleMeta = RuleMeta {
        code: "T002",
        name: "invalid-field",
        severity: Severity::Error,
        summary: "a value breaks the format: unknown field, wrong type, bad duration or enum value",
    };
    pub const UNKNOWN_REFERENCE: RuleMeta = RuleMeta {
        code: "T003",
        name: "unknown-reference",
        severity: Severity::Error,
        summary: "an edge names a node that is not defined, or a node of the wrong kind",
    };
    pub const DUPLICATE_NAME: RuleMeta = RuleMeta {
        code: "T004",
        name: "duplicate-name",
        severity: Severity::Error,
        summary: "a name is defined twice, in one file or across files, or a key repeats in a mapping",
    };
    pub const UNUSED_ALLOW: RuleMeta = RuleMeta {
        code: "L001",
        name: "unused-allow",
        severity: Severity::Info,
        summary: "an `allow` entry suppresses nothing",
    };
}

/// Thresholds that rules read; set in `topolint.toml` under `[lint]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// S101: most synchronous calls on a chain from a user-facing service without a budget.
    pub max_sync_depth: u32,
    /// S104: most attempts that one request may cause on a service, along a path.
    pub max_retry_amplification: u64,
    /// X501 and `advise`: the least lead that makes a recommendation firm; a declared style
    /// trailing by more is a mismatch.
    pub min_advice_margin: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_sync_depth: 3,
            max_retry_amplification: 10,
            min_advice_margin: crate::advise::weights::DEFAULT_MIN_MARGIN,
        }
    }
}

/// What a check sees: the model, the graph and the settings, with shared analyses computed once.
pub struct Context<'a> {
    pub model: &'a Model,
    pub graph: &'a Graph,
    pub settings: &'a Settings,
    sync: OnceLock<SyncAnalysis>,
    facts: OnceLock<sync_common::CallFacts>,
    messages: OnceLock<helpers::MessageFlows<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(model: &'a Model, graph: &'a Graph, settings: &'a Settings) -> Context<'a> {
        Context {
            model,
            graph,
            settings,
            sync: OnceLock::new(),
            facts: OnceLock::new(),
            messages: OnceLock::new(),
        }
    }

    /// Which messages each channel carries and which services consume each message (C301 and
    /// C302 both need them), computed on first use.
    pub fn message_flows(&self) -> &helpers::MessageFlows<'a> {
        self.messages
            .get_or_init(|| helpers::MessageFlows::new(self))
    }

    /// SCCs and longest chains of the synchronous subgraph, computed on first use.
    pub fn sync(&self) -> &SyncAnalysis {
        self.sync.get_or_init(|| self.graph.sync())
    }

    /// Whether the synchronous analysis has been computed.
    #[cfg(test)]
    pub fn has_sync(&self) -> bool {
        self.sync.get().is_some()
    }

    /// What the synchronous rules read of every call, in the order of the sync analysis's
    /// calls, computed on first use.
    pub fn call_facts(&self) -> &sync_common::CallFacts {
        self.facts.get_or_init(|| sync_common::CallFacts::new(self))
    }
}

/// A rule: its metadata and, for graph rules, its check.
pub struct Rule {
    pub meta: &'static RuleMeta,
    pub check: Option<fn(&Context, &mut Vec<Diagnostic>)>,
}

/// Every rule, in code order.
pub static RULES: &[Rule] = &[
    Rule {
        meta: &meta::YAML_SYNTAX,
        check: None,
    },
    Rule {
        meta: &meta::INVALID_FIELD,
        check: None,
    },
    Rule {
        meta: &meta::UNKNOWN_REFERENCE,
        check: None,
    },
    Rule {
        meta: &meta::DUPLICATE_NAME,
        check: None,
    },
    Rule {
        meta: &deep_sync_chain::META,
        check: Some(deep_sync_chain::check),
    },
    Rule {
        meta: &missing_timeout::META,
        check: Some(missing_timeout::check),
    },
    Rule {
        meta: &missing_circuit_breaker::META,
        check: Some(missing_circuit_breaker::check),
    },
    Rule {
        meta: &retry_amplification::META,
        check: Some(retry_amplification::check),
    },
    Rule {
        meta: &timeout_inversion::META,
        check: Some(timeout_inversion::check),
    },
    Rule {
        meta: &latency_budget_exceeded::META,
        check: Some(latency_budget_exceeded::check),
    },
    Rule {
        meta: &sync_cycle::META,
        check: Some(sync_cycle::check),
    },
    Rule {
        meta: &sync_batch_loop::META,
        check: Some(sync_batch_loop::check),
    },
    Rule {
        meta: &lock_across_call::META,
        check: Some(lock_across_call::check),
    },
    Rule {
        meta: &budget_not_enforced::META,
        check: Some(budget_not_enforced::check),
    },
    Rule {
        meta: &non_idempotent_consumer::META,
        check: Some(non_idempotent_consumer::check),
    },
    Rule {
        meta: &missing_dead_letter::META,
        check: Some(missing_dead_letter::check),
    },
    Rule {
        meta: &unmonitored_queue::META,
        check: Some(unmonitored_queue::check),
    },
    Rule {
        meta: &unmonitored_dead_letter::META,
        check: Some(unmonitored_dead_letter::check),
    },
    Rule {
        meta: &unbounded_queue::META,
        check: Some(unbounded_queue::check),
    },
    Rule {
        meta: &ordering_hazard::META,
        check: Some(ordering_hazard::check),
    },
    Rule {
        meta: &silent_acceptance::META,
        check: Some(silent_acceptance::check),
    },
    Rule {
        meta: &request_reply_without_reply::META,
        check: Some(request_reply_without_reply::check),
    },
    Rule {
        meta: &orphan_channel::META,
        check: Some(orphan_channel::check),
    },
    Rule {
        meta: &exactly_once_claim::META,
        check: Some(exactly_once_claim::check),
    },
    Rule {
        meta: &unversioned_message::META,
        check: Some(unversioned_message::check),
    },
    Rule {
        meta: &no_compatibility_policy::META,
        check: Some(no_compatibility_policy::check),
    },
    Rule {
        meta: &dual_write_without_outbox::META,
        check: Some(dual_write_without_outbox::check),
    },
    Rule {
        meta: &shared_datastore::META,
        check: Some(shared_datastore::check),
    },
    Rule {
        meta: &style_mismatch::META,
        check: Some(style_mismatch::check),
    },
    Rule {
        meta: &async_without_operations::META,
        check: Some(async_without_operations::check),
    },
    Rule {
        meta: &meta::UNUSED_ALLOW,
        check: None,
    },
];

/// A rule by code or name (case-insensitive).
pub fn find(name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.meta.code.eq_ignore_ascii_case(name) || r.meta.name.eq_ignore_ascii_case(name))
}

/// Every code and name, for "did you mean".
pub fn all_names() -> impl Iterator<Item = &'static str> {
    RULES.iter().flat_map(|r| [r.meta.code, r.meta.name])
}
