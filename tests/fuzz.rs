//! A fuzz harness that runs on the stable toolchain (see docs/fuzzing.md).
//!
//! Inputs are arbitrary bytes and structured mutations of every fixture and of synthetic
//! topologies. Each goes through load + analyze + every output format (`report::Format`), the
//! drawings (`draw::Format`), the baseline round trip and the language server's position
//! conversions. The oracle: no panic, every span within its file and on char boundaries, T-coded
//! problems stop linting (exit 2), the JSON report parses and matches its schema, SARIF parses,
//! the line formats keep one finding a line, and no input takes more than 2 s.
//!
//! - `cargo test --test fuzz` runs a short, fixed-seed pass (a few seconds) and replays every
//!   input kept under `fixtures/fuzz/`.
//! - `FUZZ_SECONDS=1800 cargo test --release --test fuzz -- --ignored --nocapture` runs the long
//!   mode; `FUZZ_SEED` makes a run reproducible (the seed is printed).
//!
//! Failing inputs are written under `target/tmp/fuzz-failures/`; a stack overflow or an abort
//! leaves the input being run in `target/tmp/fuzz-current.input` (see `dump_on_abort`).

mod common;
mod oracle;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use topolint::synth::{self, Rng};

use common::{files_under, root};
use oracle::{Case, Stats, profiles, run_case, schema};

/// Inputs that take more CPU time than this are failures.
const SLOW: Duration = Duration::from_secs(2);
/// The watchdog's limit: past it the input is saved and the process aborted.
const HANG: Duration = Duration::from_secs(60);
/// No input grows past this (mutations that would are cut).
const MAX_INPUT: usize = 512 * 1024;

/// The case as bytes: each file as an 8-byte length and its bytes (the abort dump's format).
fn serialize(case: &Case) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, bytes) in &case.files {
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Panics, hangs and aborts

thread_local! {
    /// Set while a case runs: its panic is recorded here instead of printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("panic at {at}: {payload}")));
            } else {
                default(info);
            }
        }));
        dump_on_abort();
    });
}

/// The input being run, for the abort handler: a stack overflow cannot be caught.
static CURRENT_PTR: AtomicUsize = AtomicUsize::new(0);
static CURRENT_LEN: AtomicUsize = AtomicUsize::new(0);

/// On SIGABRT (what a stack overflow ends in) the input being run is written to
/// `target/tmp/fuzz-current.input` with async-signal-safe calls only.
fn dump_on_abort() {
    static PATH: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-current.input");
    PATH.get_or_init(|| std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap());
    extern "C" fn on_abort(_: libc::c_int) {
        let (ptr, len) = (
            CURRENT_PTR.load(Ordering::SeqCst),
            CURRENT_LEN.load(Ordering::SeqCst),
        );
        if let Some(path) = PATH.get()
            && ptr != 0
        {
            unsafe {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                    0o644,
                );
                if fd >= 0 {
                    libc::write(fd, ptr as *const libc::c_void, len);
                    libc::close(fd);
                }
            }
        }
        // Then die of the signal as if no handler had been there.
        unsafe {
            libc::signal(libc::SIGABRT, libc::SIG_DFL);
            libc::raise(libc::SIGABRT);
        }
    }
    unsafe {
        libc::signal(libc::SIGABRT, on_abort as *const () as libc::sighandler_t);
    }
}

/// Watches the case being run; past [`HANG`] it saves the input and aborts.
struct Watchdog {
    started_ms: AtomicU64,
    stop: AtomicBool,
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

impl Watchdog {
    fn start() -> &'static Watchdog {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            started_ms: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }));
        std::thread::spawn(move || {
            while !dog.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                let started = dog.started_ms.load(Ordering::SeqCst);
                if started != 0 && now_ms() - started > HANG.as_millis() as u64 {
                    eprintln!(
                        "fuzz: an input ran for more than {HANG:?}; it is in {}/fuzz-current.input",
                        env!("CARGO_TARGET_TMPDIR")
                    );
                    std::process::abort();
                }
            }
        });
        dog
    }
}

/// CPU time of this thread: what an input costs, whatever else the machine is doing (the
/// watchdog, which catches hangs, counts wall time).
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs a case with the panic caught, the time taken and the input registered for the abort
/// handler.
fn guarded(
    case: &Case,
    schema: &jsonschema::Validator,
    dog: &Watchdog,
) -> (Result<Stats, String>, Duration) {
    let bytes = serialize(case);
    CURRENT_LEN.store(bytes.len(), Ordering::SeqCst);
    CURRENT_PTR.store(bytes.as_ptr() as usize, Ordering::SeqCst);
    QUIET.with(|q| q.set(true));
    dog.started_ms.store(now_ms(), Ordering::SeqCst);
    let start = thread_cpu_time();
    let result = panic::catch_unwind(AssertUnwindSafe(|| run_case(case, schema)));
    let took = thread_cpu_time().saturating_sub(start);
    dog.started_ms.store(0, Ordering::SeqCst);
    QUIET.with(|q| q.set(false));
    CURRENT_PTR.store(0, Ordering::SeqCst);
    let result = match result {
        Ok(r) => r,
        Err(_) => Err(PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".into())),
    };
    let result = match result {
        Ok(_) if took > SLOW => Err(format!("slow: {took:?}")),
        r => r,
    };
    (result, took)
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// Tokens of YAML syntax to insert.
const PUNCTUATION: &[&str] = &[
    ": ",
    "- ",
    "-",
    ":",
    "[",
    "]",
    "{",
    "}",
    ",",
    "? ",
    "|",
    "|-",
    ">",
    ">+",
    "#",
    "'",
    "\"",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "<<: ",
    "!!str ",
    "!!int ",
    "!!map ",
    "!x ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "~",
    "null",
    "\t",
    "\r\n",
    "\r",
    "\n",
    "  ",
    "    ",
    "\\",
    "\\u0000",
    "@",
    "`",
    "%",
    "!",
    "=",
    "\n- ",
    "\n  - ",
    "\n    ",
    ": &a",
    ": *a",
    "{}",
    "[]",
    "''",
    "\"\"",
];

/// Keyword values, names and numbers to put where a word was.
const WORDS: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "0",
    "1",
    "2",
    "-1",
    "3",
    "100",
    "0.5",
    "1.5",
    "0.0",
    "1e3",
    "1e308",
    "1e-400",
    ".inf",
    "-.inf",
    ".nan",
    "0x10",
    "0o17",
    "0b1",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "99999999999999999999999999999",
    "9007199254740993",
    "0ms",
    "1us",
    "250ms",
    "2s",
    "1.5s",
    "5m",
    "1h",
    "7d",
    "99999999999999999999d",
    "1e300s",
    "0.0000001us",
    "18446744073709551615us",
    "10%",
    "0%",
    "100%",
    "100.0000001%",
    "-5%",
    "0.1",
    "1.0",
    "http",
    "grpc",
    "thrift",
    "graphql",
    "other",
    "none",
    "fixed",
    "linear",
    "exponential",
    "direct",
    "outbox",
    "cdc",
    "status-endpoint",
    "notification",
    "websocket",
    "per-key",
    "total",
    "at-least-once",
    "at-most-once",
    "exactly-once",
    "queue",
    "topic",
    "stream",
    "reject",
    "drop-oldest",
    "block",
    "grow",
    "kafka",
    "rabbitmq",
    "sqs",
    "pubsub",
    "nats",
    "pulsar",
    "avro",
    "protobuf",
    "json-schema",
    "backward",
    "forward",
    "full",
    "immediate",
    "eventual",
    "absorb",
    "shed",
    "latency",
    "resilience",
    "simplicity",
    "auditability",
    "read-speed",
    "S101",
    "S102",
    "S103",
    "A201",
    "A209",
    "C301",
    "D401",
    "L001",
    "T001",
    "missing-timeout",
    "deep-sync-chain",
    "services.a.calls[0]",
    "services",
    "calls[0]",
    "\"1.2.0\"",
    "1.2.0",
    "x",
    "a",
    "a.b",
    "\u{e9}t\u{e9}",
    "\u{1d11e}",
    "\u{202e}x",
    "\u{feff}",
    "\u{200b}",
    "\u{2028}",
    "\u{85}",
];

/// Characters that trip up offset arithmetic: multi-byte, astral, BOM, line separators.
const UNICODE: &[char] = &[
    'é',
    'ß',
    '中',
    '𝄞',
    '😀',
    '\u{feff}',
    '\u{200b}',
    '\u{2028}',
    '\u{2029}',
    '\u{85}',
    '\u{202e}',
    '\u{301}',
    '\u{fffd}',
    '\u{10ffff}',
    '\u{a0}',
    '\u{3000}',
    '\u{1}',
    '\u{7f}',
];

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

fn pos(rng: &mut Rng, bytes: &[u8]) -> usize {
    rng.below(bytes.len() as u64 + 1) as usize
}

/// Start offsets of the lines.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

/// The byte range of a random line, with its line break.
fn random_line(rng: &mut Rng, bytes: &[u8]) -> (usize, usize) {
    let starts = line_starts(bytes);
    let i = rng.below(starts.len() as u64) as usize;
    let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
    (starts[i], end)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
}

/// The word around a random position, if any.
fn random_word(rng: &mut Rng, bytes: &[u8]) -> Option<(usize, usize)> {
    for _ in 0..8 {
        let at = pos(rng, bytes).min(bytes.len().saturating_sub(1));
        if bytes.get(at).is_some_and(|&b| is_word(b)) {
            let mut start = at;
            while start > 0 && is_word(bytes[start - 1]) {
                start -= 1;
            }
            let mut end = at;
            while end < bytes.len() && is_word(bytes[end]) {
                end += 1;
            }
            return Some((start, end));
        }
    }
    None
}

/// Names (words after a `- `, `to: `, `from: ` or at the start of a key) found in the text.
fn words_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = bytes
        .split(|&b| !is_word(b))
        .filter(|w| w.len() > 1 && w[0].is_ascii_alphabetic())
        .map(<[u8]>::to_vec)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Applies one random mutation; `other` is a second input to splice from.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, other: &[u8]) {
    let choice = rng.below(22);
    mutate_with(choice, rng, bytes, other);
}

/// Mutations that mostly keep a valid topology loading: a word replaced by a dictionary word or
/// another word of the text, a line or block duplicated or deleted. Applied to the pool of inputs
/// that loaded, they make new topologies for the rules rather than new syntax errors.
fn mutate_semantic(rng: &mut Rng, bytes: &mut Vec<u8>, other: &[u8]) {
    let choice = *pick(rng, &[4, 5, 7, 9, 10, 11, 12, 13, 13]);
    mutate_with(choice, rng, bytes, other);
}

fn mutate_with(choice: u64, rng: &mut Rng, bytes: &mut Vec<u8>, other: &[u8]) {
    match choice {
        // A bit flipped.
        0 => {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        // A random byte, or a few.
        1 => {
            for _ in 0..1 + rng.below(4) {
                let at = pos(rng, bytes);
                bytes.insert(at, rng.below(256) as u8);
            }
        }
        // YAML punctuation inserted.
        2 | 3 => {
            let at = pos(rng, bytes);
            let p = pick(rng, PUNCTUATION).as_bytes();
            bytes.splice(at..at, p.iter().copied());
        }
        // A line deleted.
        4 => {
            let (s, e) = random_line(rng, bytes);
            bytes.drain(s..e);
        }
        // A line duplicated.
        5 => {
            let (s, e) = random_line(rng, bytes);
            let line = bytes[s..e].to_vec();
            bytes.splice(e..e, line);
        }
        // Two lines swapped (a line moved).
        6 => {
            let (s, e) = random_line(rng, bytes);
            let line: Vec<u8> = bytes.drain(s..e).collect();
            let starts = line_starts(bytes);
            let at = *pick(rng, &starts);
            bytes.splice(at..at, line);
        }
        // A block of lines duplicated: a service or channel defined twice, a list item repeated.
        7 => {
            let starts = line_starts(bytes);
            let i = rng.below(starts.len() as u64) as usize;
            let j = (i + 1 + rng.below(12) as usize).min(starts.len() - 1);
            let (s, e) = (starts[i], starts[j].max(starts[i]));
            let block = bytes[s..e].to_vec();
            bytes.splice(e..e, block);
        }
        // Spliced with another input at line boundaries.
        8 => {
            let mine = line_starts(bytes);
            let theirs = line_starts(other);
            let cut = *pick(rng, &mine);
            let from = *pick(rng, &theirs);
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
        // A word replaced by a keyword, number, duration or name from the dictionary.
        9..=11 => {
            if let Some((s, e)) = random_word(rng, bytes) {
                bytes.splice(s..e, pick(rng, WORDS).bytes());
            }
        }
        // A word replaced by another word of the text: references moved (cycles, wrong kinds).
        12 | 13 => {
            let words = words_of(bytes);
            if let (Some((s, e)), false) = (random_word(rng, bytes), words.is_empty()) {
                let w = pick(rng, &words).clone();
                bytes.splice(s..e, w);
            }
        }
        // Deep nesting, flow or block.
        14 => {
            let depth = match rng.below(10) {
                0 => 2000 + rng.below(100_000) as usize,
                1..=3 => 50 + rng.below(200) as usize,
                _ => 1 + rng.below(70) as usize,
            };
            let (s, _) = random_line(rng, bytes);
            let mut nest = Vec::new();
            match rng.below(4) {
                0 => {
                    nest.extend_from_slice(b"x: ");
                    nest.extend(std::iter::repeat_n(b'[', depth));
                    nest.extend(std::iter::repeat_n(b']', depth));
                }
                1 => {
                    nest.extend_from_slice(b"x: ");
                    nest.extend(b"{a: ".iter().copied().cycle().take(4 * depth));
                    nest.extend(b"1");
                    nest.extend(std::iter::repeat_n(b'}', depth));
                }
                2 => {
                    for d in 0..depth.min(3000) {
                        nest.extend(std::iter::repeat_n(b' ', d));
                        nest.extend_from_slice(b"k:\n");
                    }
                }
                _ => {
                    for d in 0..depth.min(3000) {
                        nest.extend(std::iter::repeat_n(b' ', 2 * d));
                        nest.extend_from_slice(b"- \n");
                    }
                }
            }
            nest.push(b'\n');
            bytes.splice(s..s, nest);
        }
        // Anchors and aliases: a value anchored, an alias elsewhere, merge keys, a small bomb.
        15 => {
            let name = format!("a{}", rng.below(3));
            if let Some((s, _)) = random_word(rng, bytes) {
                bytes.splice(s..s, format!("&{name} ").into_bytes());
            }
            if let Some((s, e)) = random_word(rng, bytes) {
                let alias = if rng.chance(30) {
                    format!("{{<<: *{name}}}")
                } else {
                    format!("*{name}")
                };
                bytes.splice(s..e, alias.into_bytes());
            }
        }
        16 => {
            let width = 2 + rng.below(9) as usize;
            let levels = 1 + rng.below(8) as usize;
            let mut bomb = String::from("\nb0: &b0 [x, x]\n");
            for i in 1..levels {
                let items = vec![format!("*b{}", i - 1); width].join(", ");
                bomb.push_str(&format!("b{i}: &b{i} [{items}]\n"));
            }
            let at = *pick(rng, &line_starts(bytes));
            bytes.splice(at..at, bomb.into_bytes());
            if let Some((s, e)) = random_word(rng, bytes) {
                bytes.splice(s..e, format!("*b{}", levels - 1).into_bytes());
            }
        }
        // A huge or odd number somewhere.
        17 => {
            let at = pos(rng, bytes);
            let n = match rng.below(4) {
                0 => "9".repeat(1 + rng.below(400) as usize),
                1 => format!("{}", rng.next_u64()),
                2 => format!("-{}", rng.next_u64()),
                _ => format!("{}e{}", rng.below(10), rng.below(700)),
            };
            bytes.splice(at..at, n.into_bytes());
        }
        // Unicode.
        18 => {
            let at = pos(rng, bytes);
            let mut buf = [0u8; 4];
            let c = *pick(rng, UNICODE);
            bytes.splice(at..at, c.encode_utf8(&mut buf).bytes());
        }
        // Tabs for indentation, or a stray tab.
        19 => {
            let (s, _) = random_line(rng, bytes);
            let mut n = 0;
            while bytes.get(s + n) == Some(&b' ') {
                n += 1;
            }
            if n > 0 && rng.chance(70) {
                bytes.splice(s..s + n.min(2), [b'\t']);
            } else {
                let at = pos(rng, bytes);
                bytes.insert(at, b'\t');
            }
        }
        // Line breaks: CRLF everywhere, lone CRs, or a missing final newline.
        20 => match rng.below(3) {
            0 => {
                let mut out = Vec::with_capacity(bytes.len() * 11 / 10);
                for &b in bytes.iter() {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                *bytes = out;
            }
            1 => {
                for b in bytes.iter_mut() {
                    if *b == b'\n' && rng.chance(50) {
                        *b = b'\r';
                    }
                }
            }
            _ => {
                while bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
            }
        },
        // Truncated.
        _ => {
            let at = pos(rng, bytes);
            bytes.truncate(at);
        }
    }
    bytes.truncate(MAX_INPUT);
}

/// Arbitrary bytes: random, random ASCII, or random YAML-ish tokens.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(300) as usize;
    match rng.below(3) {
        0 => (0..len).map(|_| rng.below(256) as u8).collect(),
        1 => (0..len).map(|_| 9 + rng.below(118) as u8).collect(),
        _ => {
            let mut out = b"topolint: 1\n".to_vec();
            for _ in 0..len / 4 {
                let t = if rng.chance(50) {
                    pick(rng, PUNCTUATION).to_string()
                } else {
                    pick(rng, WORDS).to_string()
                };
                out.extend_from_slice(t.as_bytes());
            }
            out
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fuzzer

struct Corpus {
    inputs: Vec<Vec<u8>>,
    /// How many inputs came from the fixtures (never evicted).
    seeds: usize,
    /// Inputs that loaded without a T-coded problem: mutated a little, they reach the rules.
    valid: Vec<Vec<u8>>,
    seen: HashSet<String>,
}

/// How many learned inputs each pool keeps.
const POOL: usize = 4000;

fn keep(pool: &mut Vec<Vec<u8>>, floor: usize, rng: &mut Rng, input: &[u8]) {
    if pool.len() < floor + POOL {
        pool.push(input.to_vec());
    } else {
        let at = floor + rng.below(POOL as u64) as usize;
        pool[at] = input.to_vec();
    }
}

impl Corpus {
    fn new() -> Corpus {
        let mut inputs = Vec::new();
        for path in files_under(&root().join("fixtures"), &[".yaml", ".yml", ".input"]) {
            inputs.push(std::fs::read(&path).unwrap());
        }
        for (i, n) in [1usize, 3, 8, 20].into_iter().enumerate() {
            inputs.push(synth::topology(n, i as u64).into_bytes());
        }
        Corpus {
            seeds: inputs.len(),
            inputs,
            valid: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Keeps an input that found a code or message shape not seen before, and some of the
    /// inputs that loaded.
    fn learn(&mut self, rng: &mut Rng, input: &[u8], stats: &Stats) {
        if input.len() > 64 * 1024 {
            return;
        }
        let mut new = false;
        for s in &stats.signature {
            new |= self.seen.insert(s.clone());
        }
        if new {
            keep(&mut self.inputs, self.seeds, rng, input);
        }
        if !stats.load_errors && (new || rng.chance(10)) {
            keep(&mut self.valid, 0, rng, input);
        }
    }
}

/// Builds the next case.
fn next_case(rng: &mut Rng, corpus: &Corpus) -> Case {
    let make = |rng: &mut Rng| -> Vec<u8> {
        match rng.below(100) {
            0..=4 => random_bytes(rng),
            5..=9 => synth::topology(1 + rng.below(40) as usize, rng.next_u64()).into_bytes(),
            _ => {
                let other = pick(rng, &corpus.inputs).clone();
                if !corpus.valid.is_empty() && rng.chance(40) {
                    let mut bytes = pick(rng, &corpus.valid).clone();
                    for _ in 0..1 + rng.below(3) {
                        mutate_semantic(rng, &mut bytes, &other);
                    }
                    return bytes;
                }
                let mut bytes = pick(rng, &corpus.inputs).clone();
                let n = match rng.below(10) {
                    0..=4 => 1,
                    5..=7 => 2 + rng.below(3),
                    _ => 5 + rng.below(20),
                };
                for _ in 0..n {
                    mutate(rng, &mut bytes, &other);
                }
                bytes
            }
        }
    };
    let mut files = vec![make(rng)];
    match rng.below(10) {
        // Several files, each made on its own.
        0 => {
            for _ in 0..1 + rng.below(3) {
                files.push(make(rng));
            }
        }
        // One file split in two at a line, the second part under its own `topolint: 1`.
        1 => {
            let starts = line_starts(&files[0]);
            let cut = *pick(rng, &starts);
            let mut second = b"topolint: 1\n".to_vec();
            second.extend_from_slice(&files[0][cut..]);
            files[0].truncate(cut);
            files.push(second);
        }
        _ => {}
    }
    let profile = if rng.chance(85) { 0 } else { 1 };
    Case {
        files: files
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("f{i}.topology.yaml"), b))
            .collect(),
        limits: profiles()[profile],
    }
}

/// Writes a failing case under `target/tmp/fuzz-failures/<n>/`.
fn save(case: &Case, id: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-failures")
        .join(id);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in &case.files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("limits.txt"), format!("{:?}\n", case.limits)).unwrap();
    dir
}

struct Summary {
    cases: u64,
    failures: Vec<String>,
}

/// Runs cases until `budget` is spent or `max_cases` are run.
fn fuzz(seed: u64, budget: Duration, max_cases: u64) -> Summary {
    install_panic_hook();
    let dog = Watchdog::start();
    let schema = schema();
    let mut rng = Rng::new(seed);
    let mut corpus = Corpus::new();
    let start = Instant::now();
    let mut cases = 0u64;
    let mut failures: Vec<String> = Vec::new();
    let mut seen_failures = HashSet::new();
    let (mut slowest, mut with_load_errors, mut diagnostics) = (Duration::ZERO, 0u64, 0u64);
    let mut last_report = Instant::now();
    while start.elapsed() < budget && cases < max_cases {
        let case = next_case(&mut rng, &corpus);
        cases += 1;
        let (result, took) = guarded(&case, &schema, dog);
        if took > slowest {
            slowest = took;
            // Kept for a look: what is the slowest kind of input?
            if took > SLOW / 4 {
                save(&case, "slowest");
            }
        }
        match result {
            Ok(stats) => {
                with_load_errors += stats.load_errors as u64;
                diagnostics += stats.diagnostics as u64;
                if case.files.len() == 1 {
                    corpus.learn(&mut rng, &case.files[0].1, &stats);
                }
            }
            Err(problem) => {
                // One report per distinct problem (its first line, digits aside).
                let key: String = problem
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_ascii_digit())
                    .collect();
                if seen_failures.insert(key) {
                    let dir = save(&case, &format!("{seed:x}-{cases}"));
                    let line = format!("{problem}\n    input: {}", dir.display());
                    eprintln!("fuzz: FAILURE {line}");
                    failures.push(line);
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!(
                "fuzz: {:>5}s {cases} cases ({with_load_errors} with load errors), corpus {} + {} valid, {} shapes, {} failures",
                start.elapsed().as_secs(),
                corpus.inputs.len(),
                corpus.valid.len(),
                corpus.seen.len(),
                failures.len()
            );
        }
    }
    dog.stop.store(true, Ordering::SeqCst);
    eprintln!(
        "fuzz: seed {seed}: {cases} cases in {:.1}s ({} with load errors, {diagnostics} diagnostics), \
         slowest {slowest:?}, corpus {} inputs, {} diagnostic shapes, {} failures",
        start.elapsed().as_secs_f64(),
        with_load_errors,
        corpus.inputs.len(),
        corpus.seen.len(),
        failures.len()
    );
    Summary { cases, failures }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The bounded pass that `cargo test` runs: a fixed seed and a fixed number of cases, with a
/// time cap for slow machines.
#[test]
fn fuzz_short() {
    let seed = env_u64("FUZZ_SEED").unwrap_or(0x7090_1147);
    let cases = env_u64("FUZZ_CASES").unwrap_or(300);
    let summary = fuzz(seed, Duration::from_secs(15), cases);
    assert!(summary.cases > 100, "only {} cases ran", summary.cases);
    assert!(
        summary.failures.is_empty(),
        "seed {seed}:\n{}",
        summary.failures.join("\n")
    );
}

/// The long mode: `FUZZ_SECONDS` (default 60) of fuzzing from `FUZZ_SEED` (default: the clock).
#[test]
#[ignore = "long-running; FUZZ_SECONDS=1800 cargo test --release --test fuzz -- --ignored --nocapture"]
fn fuzz_long() {
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let seconds = env_u64("FUZZ_SECONDS").unwrap_or(60);
    eprintln!("fuzz: seed {seed}, {seconds}s (FUZZ_SEED={seed} repeats this run)");
    let summary = fuzz(seed, Duration::from_secs(seconds), u64::MAX);
    assert!(
        summary.failures.is_empty(),
        "seed {seed}:\n{}",
        summary.failures.join("\n")
    );
}

/// Every input kept under `fixtures/fuzz/` (a file is one input, a directory one topology of
/// several files), under every limit profile: none may break the oracle again.
#[test]
fn fuzz_regressions_replay() {
    install_panic_hook();
    let dog = Watchdog::start();
    let schema = schema();
    let dir = root().join("fixtures/fuzz");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    entries.sort();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for path in entries {
        let files: Vec<(String, Vec<u8>)> = if path.is_dir() {
            files_under(&path, &[".input"])
                .into_iter()
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&p).unwrap())
                })
                .collect()
        } else if path.extension().is_some_and(|e| e == "input") {
            vec![("f0.topology.yaml".into(), std::fs::read(&path).unwrap())]
        } else {
            continue;
        };
        for limits in profiles() {
            let case = Case {
                files: files.clone(),
                limits,
            };
            replayed += 1;
            if let (Err(problem), _) = guarded(&case, &schema, dog) {
                failures.push(format!("{}: {problem}", path.display()));
            }
        }
    }
    dog.stop.store(true, Ordering::SeqCst);
    eprintln!("replayed {replayed} kept inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
