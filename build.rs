//! Embeds the rule docs of `lints/` into the binary, for `topolint explain` and editor hover.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=lints");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lints");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.retain(|p| {
        p.extension().is_some_and(|e| e == "md") && p.file_stem().is_some_and(|s| s != "README")
    });
    entries.sort();
    let mut out = String::from(
        "/// The rule docs, by file stem (`S101-deep-sync-chain`).\npub static DOCS: &[(&str, &str)] = &[\n",
    );
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("docs.rs");
    std::fs::write(target, out).unwrap();
}
