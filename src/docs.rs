//! The rule docs of `lints/`, embedded at build time.

use crate::diagnostic::RuleMeta;

include!(concat!(env!("OUT_DIR"), "/docs.rs"));

/// The doc of a rule, found by its file name `<CODE>-<name>.md`.
pub fn doc(meta: &RuleMeta) -> Option<&'static str> {
    let stem = format!("{}-{}", meta.code, meta.name);
    DOCS.iter().find(|(s, _)| *s == stem).map(|(_, text)| *text)
}

/// The first fenced ```yaml block under a `## heading` of a doc.
pub fn example<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let section = doc.split("\n## ").find(|s| s.starts_with(heading))?;
    let start = section.find("```yaml\n")? + "```yaml\n".len();
    let end = section[start..].find("```")?;
    Some(&section[start..start + end])
}

/// Where the docs are published, for links from SARIF and editors.
pub const DOCS_URL: &str = "https://github.com/topolint/topolint/blob/main/lints";

/// The link to a rule's doc.
pub fn url(meta: &RuleMeta) -> String {
    format!("{DOCS_URL}/{}-{}.md", meta.code, meta.name)
}
