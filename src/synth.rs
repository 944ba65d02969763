//! A deterministic generator of synthetic topologies, for benchmarks and property tests: services
//! with calls, channels, messages and datastores in realistic proportions.

use std::fmt::Write;

/// A small, seeded generator (SplitMix64): the same seed gives the same topology on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The layer of a service: 1% entrypoints (0), then domain services (1), core services (2) and
/// leaves (3). Calls go one layer down, as in a layered architecture, so chains are at most three
/// calls deep; a few calls go back up and make cycles.
fn layer(i: usize, services: usize) -> usize {
    let share = i * 100 / services.max(1);
    if i.is_multiple_of(100) {
        0
    } else if share < 35 {
        1
    } else if share < 70 {
        2
    } else {
        3
    }
}

/// Timeouts per layer of the callee: each covers the callee's p99 plus its own calls, so that a
/// well-made synthetic system is mostly clean (S105) and the rules' cost is measured on realistic
/// numbers of findings.
const TIMEOUT_MS: [u64; 4] = [0, 3000, 800, 200];

/// A topology of `services` services in one YAML file: about 1 channel and 1 message per 5
/// services, 1 datastore per 2 services (each written by one service), 1–3 calls per non-leaf
/// service, 1% user-facing entrypoints (half with a budget), and a sprinkling of real problems
/// (missing breakers, cycles, unversioned shapes are avoided) so that every rule has work to do.
pub fn topology(services: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let channels = (services / 5).max(1);
    let stores = services.div_ceil(2).max(1);
    // Services of each layer, to pick call targets from.
    let mut by_layer: [Vec<usize>; 4] = Default::default();
    for i in 0..services {
        by_layer[layer(i, services)].push(i);
    }
    let mut out = String::with_capacity(services * 420);
    out.push_str(
        "topolint: 1\nsystem: synthetic\ndefaults:\n  calls: { protocol: grpc }\n\nservices:\n",
    );
    for i in 0..services {
        let my_layer = layer(i, services);
        let _ = writeln!(out, "  svc-{i}:");
        let _ = writeln!(out, "    owner: team-{}", i % 97);
        let p99 = 10 + rng.below(90);
        let _ = writeln!(
            out,
            "    latency: {{ p50: {}ms, p99: {p99}ms }}",
            p99 / 3 + 1
        );
        if my_layer == 0 {
            let _ = writeln!(out, "    user_facing: true");
            if rng.chance(50) {
                let _ = writeln!(out, "    budget: 15s");
            }
        }
        let calls = if my_layer == 3 {
            0
        } else {
            1 + rng.below(3) as usize
        };
        let mut wrote_calls = false;
        for _ in 0..calls {
            let below = &by_layer[(my_layer + 1).min(3)];
            // One call in a thousand goes back up a layer: a cycle for S107 to find.
            let target = if rng.chance(1)
                && rng.chance(10)
                && my_layer >= 2
                && !by_layer[my_layer - 1].is_empty()
            {
                by_layer[my_layer - 1][rng.below(by_layer[my_layer - 1].len() as u64) as usize]
            } else if below.is_empty() {
                continue;
            } else {
                below[rng.below(below.len() as u64) as usize]
            };
            if target == i {
                continue;
            }
            if !wrote_calls {
                out.push_str("    calls:\n");
                wrote_calls = true;
            }
            let _ = writeln!(
                out,
                "      - to: svc-{target}\n        timeout: {}ms",
                TIMEOUT_MS[layer(target, services)].max(200)
            );
            if rng.chance(97) {
                out.push_str("        circuit_breaker: true\n");
            }
            if rng.chance(20) {
                out.push_str("        retries: 1\n");
            }
        }
        if i % 2 == 0 {
            let _ = writeln!(out, "    writes: [db-{}]", i / 2);
        }
        if rng.chance(40) {
            let _ = writeln!(out, "    reads: [db-{}]", rng.below(stores as u64));
        }
        if i % 5 == 0 {
            let c = (i / 5) % channels;
            let _ = writeln!(
                out,
                "    publishes:\n      - to: ch-{c}\n        message: Msg{c}\n        critical: {}\n        via: outbox",
                rng.chance(50)
            );
        }
        if i % 5 == 2 {
            let c = (i / 5) % channels;
            let _ = writeln!(
                out,
                "    consumes:\n      - from: ch-{c}\n        idempotent: true\n        delivery: at-least-once"
            );
        }
    }
    out.push_str("\nchannels:\n");
    for c in 0..channels {
        let _ = writeln!(
            out,
            "  ch-{c}:\n    kind: topic\n    broker: kafka\n    messages: [Msg{c}]\n    partitions: 6\n    key: id\n    dead_letter: dlq\n    alerts: {{ depth: 1000, age: 5m }}\n    max_depth: 100000"
        );
    }
    out.push_str("  dlq: { kind: queue, broker: kafka, alerts: { depth: 1 } }\n\nbrokers:\n  kafka: { kind: kafka, schema_registry: true }\n\nmessages:\n");
    for c in 0..channels {
        let _ = writeln!(
            out,
            "  Msg{c}: {{ version: {}, format: avro, compatibility: backward }}",
            1 + c % 3
        );
    }
    out.push_str("\ndatastores:\n");
    for s in 0..stores {
        let _ = writeln!(out, "  db-{s}: {{ kind: postgres }}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        assert_eq!(topology(50, 7), topology(50, 7));
        assert_ne!(topology(50, 7), topology(50, 8));
        let text = topology(1000, 1);
        let per_service = text.len() / 1000;
        assert!(
            (250..700).contains(&per_service),
            "{per_service} bytes per service"
        );
    }
}
