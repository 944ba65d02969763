//! Coverage-guided fuzzing of one topology (one or more files) through load, analyze, every
//! output format, the drawings, the baseline and the LSP's position arithmetic, with the oracle
//! of `tests/fuzz.rs` (`tests/oracle/mod.rs`).
//!
//! An input is one file; `\n#%file\n` splits it into several files of one topology, and a
//! leading `#tight\n` loads it under the tight limits. Run on the stable toolchain with
//! `cargo fuzz run --sanitizer none check fuzz/corpus/check fixtures/valid fixtures/invalid
//! fixtures/examples fixtures/fuzz -- -timeout=10 -max_len=65536`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/oracle/mod.rs"]
mod oracle;

const SPLIT: &[u8] = b"\n#%file\n";

fn split(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    while let Some(at) = data.windows(SPLIT.len()).position(|w| w == SPLIT) {
        files.push(data[..at].to_vec());
        data = &data[at + SPLIT.len()..];
    }
    files.push(data.to_vec());
    files
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("f{i}.topology.yaml"), bytes))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    let schema = SCHEMA.get_or_init(oracle::schema);
    let [default, tight] = oracle::profiles();
    let (limits, data) = match data.strip_prefix(b"#tight\n") {
        Some(rest) => (tight, rest),
        None => (default, data),
    };
    let case = oracle::Case {
        files: split(data),
        limits,
    };
    if let Err(problem) = oracle::run_case(&case, schema) {
        panic!("{problem}");
    }
});
