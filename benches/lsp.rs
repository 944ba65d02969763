//! `cargo bench --bench lsp`: the language server's re-lint after a change (in progress).
fn main() {}
