//! The synthetic topologies load cleanly, so the benchmarks measure real work.

mod common;

#[test]
fn synthetic_topology_loads_without_load_errors() {
    let text = topolint::synth::topology(2000, 42);
    let analysis = common::check_text(&text);
    assert!(
        !analysis.has_load_errors(),
        "{:?}",
        analysis.diagnostics.iter().take(5).collect::<Vec<_>>()
    );
    assert_eq!(analysis.loaded.model.services.len(), 2000);
    assert!(analysis.loaded.model.channels.len() >= 400);
    // The generator makes some findings (missing timeouts are overridden by defaults, but missing
    // breakers, cycles and non-budgeted chains exist), so the rules have work to do.
    assert!(!analysis.diagnostics.is_empty());
}
