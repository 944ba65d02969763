//! The weights of the decision framework: one row per need (or operations gap), one weight per
//! style, each with the reason behind it. This is the only place the numbers live; `topolint
//! explain X501` prints them (lints/X501-style-mismatch.md holds a generated copy, checked by a
//! test).
//!
//! The scale: +3 is a need the style serves best, -3 one it serves worst (and usually a hard
//! constraint vetoes it as well), 0 is indifferent. The row of the edge's `dominant` constraint
//! counts [`DOMINANT_FACTOR`] times.

use std::fmt::Write;

use crate::model::{Consistency, Dominant, Spikes};

use super::Style;

/// How many times the `dominant` constraint's weights count.
pub const DOMINANT_FACTOR: i32 = 3;

/// Below this margin between the best and the second-best style the advice is uncertain, and
/// X501 stays quiet unless the declared style trails by more. `min-advice-margin` in
/// `topolint.toml` overrides it.
pub const DEFAULT_MIN_MARGIN: u32 = 3;

/// What a row of the table is about: a declared (or inferred) need, or a gap in `operations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Factor {
    UserWaits(bool),
    Consistency(Consistency),
    Decoupling(bool),
    Spikes(Spikes),
    Replay(bool),
    Dominant(Dominant),
    /// `operations: { broker_experience: false }`.
    NoBrokerExperience,
    /// `operations: { dlq_runbooks: false }`.
    NoDlqRunbooks,
}

impl Factor {
    /// As the YAML says it: `user_waits: true`, `dominant: latency`.
    pub fn label(self) -> String {
        use crate::model::Keyword;
        match self {
            Factor::UserWaits(b) => format!("user_waits: {b}"),
            Factor::Consistency(c) => format!("consistency: {}", c.as_str()),
            Factor::Decoupling(b) => format!("decoupling: {b}"),
            Factor::Spikes(s) => format!("spikes: {}", s.as_str()),
            Factor::Replay(b) => format!("replay: {b}"),
            Factor::Dominant(d) => format!("dominant: {}", d.as_str()),
            Factor::NoBrokerExperience => "operations.broker_experience: false".into(),
            Factor::NoDlqRunbooks => "operations.dlq_runbooks: false".into(),
        }
    }
}

/// One weight and why.
#[derive(Debug, Clone, Copy)]
pub struct Weight {
    pub weight: i32,
    pub why: &'static str,
}

/// A row: a factor and its weight for each style, in [`Style::ALL`] order.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub factor: Factor,
    pub weights: [Weight; 4],
}

const fn w(weight: i32, why: &'static str) -> Weight {
    Weight { weight, why }
}

/// The table, in the order it is printed. Columns: sync, async, request-reply, cqrs-lite.
/// `replay: false` has no row: not needing an event log argues for no style in particular.
pub static TABLE: &[Row] = &[
    Row {
        factor: Factor::UserWaits(true),
        weights: [
            w(
                3,
                "a person waiting on an answer is the first case for a direct call",
            ),
            w(
                -2,
                "fire-and-forget offers \"we'll let you know\" instead of an answer",
            ),
            w(
                2,
                "the user still gets an answer, one broker round trip later",
            ),
            w(
                0,
                "reads answer at once, but the outcome of a write shows up later",
            ),
        ],
    },
    Row {
        factor: Factor::UserWaits(false),
        weights: [
            w(-1, "holding the caller open buys nothing when nobody waits"),
            w(
                3,
                "background work that reports back later is what fire-and-forget is for",
            ),
            w(
                -2,
                "a reply channel and a timeout serve a wait that does not exist",
            ),
            w(
                1,
                "writes can flow in the background while reads stay quick",
            ),
        ],
    },
    Row {
        factor: Factor::Consistency(Consistency::Immediate),
        weights: [
            w(
                3,
                "the request succeeds or fails as a whole and the caller knows which at once",
            ),
            w(
                -3,
                "the effect lands seconds or minutes after the caller moved on",
            ),
            w(
                1,
                "the reply confirms the effect, but only through a broker and a timeout",
            ),
            w(-3, "reads lag behind writes until the view catches up"),
        ],
    },
    Row {
        factor: Factor::Consistency(Consistency::Eventual),
        weights: [
            w(
                0,
                "tolerating stale data neither helps nor hurts a direct call",
            ),
            w(
                1,
                "a window of inconsistency is the price of events, and it is accepted here",
            ),
            w(0, "the caller waits for the reply either way"),
            w(
                1,
                "read-after-write lag is the price of separate views, and it is accepted here",
            ),
        ],
    },
    Row {
        factor: Factor::Decoupling(true),
        weights: [
            w(
                -3,
                "both sides must be up at the same moment: deploying one fails the other",
            ),
            w(
                3,
                "the broker keeps messages while the receiver deploys, restarts or scales",
            ),
            w(
                3,
                "the queue holds the request through the callee's restart and the caller still gets an answer",
            ),
            w(
                2,
                "writes are decoupled, but reads still need the read side up",
            ),
        ],
    },
    Row {
        factor: Factor::Decoupling(false),
        weights: [
            w(
                1,
                "with no need to deploy apart, a direct call is the simpler coupling",
            ),
            w(0, "a broker's independence is not asked for"),
            w(0, "a broker's independence is not asked for"),
            w(0, "a broker's independence is not asked for"),
        ],
    },
    Row {
        factor: Factor::Spikes(Spikes::Absorb),
        weights: [
            w(
                -2,
                "a full thread pool turns a spike into errors the user sees",
            ),
            w(
                3,
                "the queue soaks up the spike and drops nothing, given disk and catch-up time",
            ),
            w(
                2,
                "the queue buffers the burst, and the edge can refuse work when it gets too deep",
            ),
            w(2, "writes queue up during the burst while reads carry on"),
        ],
    },
    Row {
        factor: Factor::Spikes(Spikes::Shed),
        weights: [
            w(
                2,
                "backpressure travels upstream by itself and failures show at once",
            ),
            w(
                -2,
                "a queue has no backpressure until someone builds it; it just grows",
            ),
            w(
                0,
                "the queue can refuse work at the edge, but only once that is built",
            ),
            w(-1, "the write queue needs limits built by hand"),
        ],
    },
    Row {
        factor: Factor::Replay(true),
        weights: [
            w(-3, "a call leaves no event behind to replay"),
            w(
                3,
                "a log of events can be replayed to audit, debug or rebuild state",
            ),
            w(
                1,
                "requests pass through a broker, but replaying one that nobody awaits means little",
            ),
            w(
                2,
                "the write side is a stream of events that views can be rebuilt from",
            ),
        ],
    },
    Row {
        factor: Factor::Dominant(Dominant::Latency),
        weights: [
            w(2, "the fastest answer is a direct call on a shallow chain"),
            w(
                -1,
                "the acknowledgement is quick, but the result the user wants comes later",
            ),
            w(-1, "every request pays a round trip through the broker"),
            w(
                0,
                "reads from a prepared view are quick, writes are not awaited at all",
            ),
        ],
    },
    Row {
        factor: Factor::Dominant(Dominant::Resilience),
        weights: [
            w(
                -1,
                "one slow callee can drag everything upstream down with it",
            ),
            w(
                2,
                "the system keeps working while individual services are down",
            ),
            w(
                1,
                "the queue rides out the callee's outages, though the caller still waits",
            ),
            w(
                1,
                "writes survive outages; reads still depend on the read side",
            ),
        ],
    },
    Row {
        factor: Factor::Dominant(Dominant::Simplicity),
        weights: [
            w(2, "no broker, dead letters, replay or depth alerts to run"),
            w(
                -1,
                "a broker, dead-letter queues, replay and depth monitoring take sustained effort",
            ),
            w(-2, "a broker plus reply queues, correlation and timeouts"),
            w(
                -2,
                "two models to keep in step, on top of everything async needs",
            ),
        ],
    },
    Row {
        factor: Factor::Dominant(Dominant::Auditability),
        weights: [
            w(-1, "a call leaves no history to audit"),
            w(
                2,
                "events and replay give an audit trail that calls cannot match",
            ),
            w(
                0,
                "messages pass a broker, but requests and replies are throwaway",
            ),
            w(1, "the write side is an event log"),
        ],
    },
    Row {
        factor: Factor::Dominant(Dominant::ReadSpeed),
        weights: [
            w(2, "a direct read on a shallow path answers at once"),
            w(-2, "a queue cannot answer a read"),
            w(-1, "a read through a broker pays an extra round trip"),
            w(2, "reads come from a view prepared ahead of time"),
        ],
    },
    Row {
        factor: Factor::NoBrokerExperience,
        weights: [
            w(0, "calls need no broker"),
            w(
                -3,
                "running a broker for the first time is a steep learning curve",
            ),
            w(-3, "the same broker, plus reply queues"),
            w(
                -3,
                "the views are fed through a broker the team has never run",
            ),
        ],
    },
    Row {
        factor: Factor::NoDlqRunbooks,
        weights: [
            w(0, "a failed call just fails, and the caller sees it"),
            w(
                -2,
                "failed messages pile up in dead letters that nobody watches",
            ),
            w(
                -1,
                "a failed request times out at the caller, but its queue still needs a watched dead letter",
            ),
            w(
                -2,
                "a stuck projection goes unnoticed until reads are visibly stale",
            ),
        ],
    },
];

/// The row of a factor, if it carries weight.
pub fn row(factor: Factor) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.factor == factor)
}

fn signed(n: i32) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// The table as markdown: the grid of weights, then every weight's reason.
pub fn table_markdown() -> String {
    let mut out = String::from("| need | sync | async | request-reply | cqrs-lite |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: |\n");
    for r in TABLE {
        let _ = write!(out, "| `{}` |", r.factor.label());
        for weight in &r.weights {
            let _ = write!(out, " {} |", signed(weight.weight));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nThe `dominant` row counts {DOMINANT_FACTOR} times. An `operations` row applies to every \
         advised edge when the field says `false`; an absent field is unknown and costs nothing."
    );
    out.push_str("\nWhy each weight:\n");
    for r in TABLE {
        let _ = writeln!(out, "- `{}`", r.factor.label());
        for (style, weight) in Style::ALL.iter().zip(&r.weights) {
            let _ = writeln!(
                out,
                "  - {} {}: {}",
                style.as_str(),
                signed(weight.weight),
                weight.why
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_factor_has_one_row_at_most() {
        for (i, r) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|o| o.factor != r.factor),
                "{} twice",
                r.factor.label()
            );
            for weight in &r.weights {
                assert!((-3..=3).contains(&weight.weight));
                assert!(!weight.why.is_empty() && !weight.why.ends_with('.'));
            }
        }
    }

    #[test]
    fn operations_only_lower_the_async_styles() {
        for factor in [Factor::NoBrokerExperience, Factor::NoDlqRunbooks] {
            let r = row(factor).unwrap();
            assert_eq!(r.weights[Style::Sync.index()].weight, 0);
            for style in Style::ALL.into_iter().filter(|s| s.is_async()) {
                assert!(r.weights[style.index()].weight < 0);
            }
        }
    }
}
