//! Snapshots of the rendered human report (no colour, fixed width) of the shipped examples and
//! one loading failure: they guard the look. Behaviour is asserted elsewhere, with markers.
//! Update with `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`).

mod common;

use topolint::report::{self, Format, Report};

fn human(path: &str) -> String {
    let analysis = common::check(&[common::root().join(path)]);
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    report::render(Format::Human, &report, false)
}

#[test]
fn shop_example() {
    insta::assert_snapshot!(human("fixtures/examples/shop"));
}

#[test]
fn small_example() {
    insta::assert_snapshot!(human("fixtures/examples/small.topology.yaml"));
}

#[test]
fn duplicate_across_files() {
    insta::assert_snapshot!(human("fixtures/invalid/dup-across-files"));
}

#[test]
fn concise_shop_example_lists_the_expected_findings() {
    // The findings fixtures/examples/README.md promises, one a line.
    let analysis = common::check(&[common::root().join("fixtures/examples/shop")]);
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    insta::assert_snapshot!(report::render(Format::Concise, &report, false));
}
