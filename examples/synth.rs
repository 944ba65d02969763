//! Writes a synthetic topology: `cargo run --release --example synth -- 100000 > big.topology.yaml`.

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    print!("{}", topolint::synth::topology(n, 42));
}
