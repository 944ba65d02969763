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

/// A topology of `services` services in one YAML file. About 1 channel and 1 message per 5
/// services, 1 datastore per 2, 2–3 calls per service mostly towards later services (so chains
/// are long but finite, with a few cycles), 1% user-facing entrypoints.
pub fn topology(services: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let channels = (services / 5).max(1);
    let stores = (services / 2).max(1);
    let mut out = String::with_capacity(services * 420);
    out.push_str("topolint: 1\nsystem: synthetic\ndefaults:\n  calls: { timeout: 1s, retries: 1 }\n\nservices:\n");
    for i in 0..services {
        let _ = writeln!(out, "  svc-{i}:");
        let _ = writeln!(out, "    owner: team-{}", i % 97);
        let p99 = 10 + rng.below(90);
        let _ = writeln!(
            out,
            "    latency: {{ p50: {}ms, p99: {p99}ms }}",
            p99 / 3 + 1
        );
        if i % 100 == 0 {
            let _ = writeln!(out, "    user_facing: true");
            if rng.chance(50) {
                let _ = writeln!(out, "    budget: 2s");
            }
        }
        let calls = 2 + rng.below(2) as usize;
        let mut wrote_calls = false;
        for _ in 0..calls {
            // Mostly forward (a DAG), sometimes backward (cycles); skip past the end.
            let target = if rng.chance(3) {
                rng.below(i as u64 + 1) as usize
            } else {
                i + 1 + rng.below(50) as usize
            };
            if target >= services || target == i {
                continue;
            }
            if !wrote_calls {
                out.push_str("    calls:\n");
                wrote_calls = true;
            }
            let _ = write!(out, "      - to: svc-{target}\n        protocol: grpc\n");
            if rng.chance(90) {
                let _ = writeln!(out, "        timeout: {}ms", 100 + 50 * rng.below(10));
            }
            if rng.chance(70) {
                out.push_str("        circuit_breaker: true\n");
            }
            if rng.chance(20) {
                let _ = writeln!(out, "        retries: {}", rng.below(4));
            }
        }
        let _ = writeln!(out, "    writes: [db-{}]", i % stores);
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
