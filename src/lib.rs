//! topolint: lints microservice topologies described in YAML.
//!
//! The flow goes one way: [`load`] (YAML with spans → [`model`]) → [`graph`] (petgraph) →
//! [`lints`] (one file a rule) → [`diagnostic`]s → [`report`] (output formats) and [`draw`]
//! (pictures of the topology with the findings on them).

pub mod advise;
pub mod baseline;
pub mod config;
pub mod diagnostic;
pub mod docs;
pub mod draw;
pub mod graph;
pub mod lints;
pub mod load;
pub mod lsp;
pub mod model;
pub mod parallel;
pub mod report;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod synth;

use diagnostic::Diagnostic;
use graph::Graph;
use lints::engine::{Outcome, RuleConfig, Suppressed};
use load::Loaded;

/// A loaded and linted topology.
#[derive(Debug)]
pub struct Analysis {
    pub loaded: Loaded,
    /// `None` when loading failed: nothing is linted past a T-coded problem.
    pub graph: Option<Graph>,
    /// Loading problems and findings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    pub suppressed: Vec<Suppressed>,
}

impl Analysis {
    pub fn has_load_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_load_error)
    }

    /// Gives the model's and the graph's memory back before a report that needs the files'
    /// text again (see [`model::Model::release`]); the findings and the sources stay.
    pub fn release_model(&mut self) {
        self.graph = None;
        self.loaded.model.release();
    }
}

/// Lints a loaded topology, unless it failed to load.
pub fn analyze(mut loaded: Loaded, rules: &RuleConfig) -> Analysis {
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    if diagnostics.iter().any(Diagnostic::is_load_error) {
        diagnostic::sort(&mut diagnostics);
        return Analysis {
            loaded,
            graph: None,
            diagnostics,
            suppressed: Vec::new(),
        };
    }
    let graph = loaded.build_graph();
    let Outcome {
        diagnostics: mut found,
        suppressed,
    } = lints::engine::lint(&loaded.model, &graph, rules);
    // The engine's findings come sorted; the loader's warnings, if any, are merged in by sorting
    // again.
    if diagnostics.is_empty() {
        diagnostics = found;
    } else {
        diagnostics.append(&mut found);
        diagnostic::sort(&mut diagnostics);
    }
    Analysis {
        loaded,
        graph: Some(graph),
        diagnostics,
        suppressed,
    }
}

/// Sets the allocator up for large topologies; the binary calls it first thing.
///
/// glibc's malloc gives blocks of 128 KiB and more their own mappings, returned to the system
/// when freed, but each time such a block is freed it raises that threshold to the block's size
/// (up to 32 MiB). Loading a large topology frees big lists, so the rules' and the report's later
/// large blocks came out of the heap instead, where their space stays resident once freed: 18 MB
/// of the peak at 100k services. A fixed threshold keeps large blocks apart. Elsewhere, nothing.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets one of the allocator's tunables.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
