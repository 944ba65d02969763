//! Reading one large file on two cores: the file is cut at an entry of its largest node section
//! (`services:`, nearly always), and the two stretches are parsed and decoded at once.
//!
//! A YAML parser reads one character after another, so a single file cannot be parsed faster
//! than one core allows, but a topology file has a shape that makes safe cuts easy to find: a
//! top-level section is a block mapping whose entries each start a line at the same
//! indentation, and nothing nested in an entry can start a line that far left. The file is read
//! as three stretches of whole lines:
//!
//! - the *head*, from the start to the cut: a complete document whose section just has fewer
//!   entries;
//! - the *body*, from the cut to the end of the section: a block mapping of entries, read as
//!   that section's entries;
//! - the *tail*, the top-level fields after the section: a document of its own, read without
//!   `topolint: 1`.
//!
//! The current thread reads the head and then the tail, a second one the body. Their documents
//! are then joined: the section's entries in file order, the other fields from wherever they
//! were. The result is used only when it is certain to be what reading the file in one piece
//! gives: when no stretch reports any problem (an entry cut in two, a quoted scalar or a flow
//! collection across the cut, an alias to an anchor in another stretch: each makes one of the
//! stretches fail to parse or decode), the head and the tail share no top-level field (one
//! piece would report it as a duplicate key), and the aliases of all stretches together stay
//! within the limit. Otherwise the caller reads the file in one piece, which gives the
//! diagnostics exactly as always: a file with problems pays for a second reading, a clean one
//! is read in a little over half the time.

use crate::model::{Document, NodeKind};
use crate::source::{FileId, SourceFile};

use super::Limits;
use super::decode::Decoder;
use super::events::{Events, Spanner, Stretch};

/// Where to cut a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The section cut in two: the one of this kind of node.
    pub section: NodeKind,
    /// From the start to the cut.
    pub head: Stretch,
    /// From the cut to the end of the section.
    pub body: Stretch,
    /// The rest; empty when the section ends the file.
    pub tail: Stretch,
    /// Whether the whole text is ASCII (positions then need no line index).
    pub ascii: bool,
}

/// A line of the file: its start, its number (0-based) and its text without the line break.
#[derive(Clone, Copy)]
struct Line<'t> {
    start: usize,
    number: usize,
    text: &'t str,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = Line {
            start,
            number,
            text: &text[start..end],
        };
        start = end + 1;
        number += 1;
        Some(line)
    })
}

/// A line that only holds a comment or nothing.
fn is_blank(line: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t', '\r']);
    rest.is_empty() || rest.starts_with('#')
}

/// The plain key of a line `key: ...` at the left margin (names and field names start with a
/// letter) and what follows its colon.
fn margin_key(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    plain.then_some((key, rest))
}

/// The key of a line `key:` or `key: # comment` at the left margin: a block value follows.
fn section_key(line: &str) -> Option<&str> {
    let (key, rest) = margin_key(line)?;
    let rest = rest.trim_start_matches([' ', '\t', '\r']);
    (rest.is_empty() || rest.starts_with('#')).then_some(key)
}

/// Whether the line starts an entry at `indent`: exactly that many spaces, then a letter (a
/// plain key; names start with a letter).
fn starts_entry(line: &str, indent: usize) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > indent
        && bytes[..indent].iter().all(|&b| b == b' ')
        && bytes[indent].is_ascii_alphabetic()
}

/// Where to cut `text`: at the first entry from byte `aim` on, or where its two parts are about
/// the same size when `aim` is `None`. `None` when the file has no section to cut (or an unusual
/// layout that is not worth the risk).
pub fn plan(text: &str, aim: Option<usize>) -> Option<Plan> {
    let ascii = text.is_ascii();
    if other_line_breaks(text, ascii) {
        return None;
    }
    // Lines at the left margin that are not blank or comments: top-level keys, mostly.
    let mut margin: Vec<Line> = Vec::new();
    let mut count = 0;
    for line in lines(text) {
        count = line.number + 1;
        if !line.text.starts_with([' ', '\t', '\r']) && !is_blank(line.text) {
            margin.push(line);
        }
    }
    let end_of = |i: usize| {
        margin.get(i + 1).map_or(
            Line {
                start: text.len(),
                number: count,
                text: "",
            },
            |l| *l,
        )
    };
    // The largest node section.
    let (index, header, section) = margin
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let key = section_key(line.text)?;
            let kind = NodeKind::ALL.into_iter().find(|k| k.section() == key)?;
            Some((i, *line, kind))
        })
        .max_by_key(|(i, header, _)| end_of(*i).start - header.start)?;
    let end = end_of(index);
    // What follows must start a top-level key: not a document marker, a directive or a
    // continuation that the line scan cannot tell from one.
    if end.start < text.len() && margin_key(end.text).is_none() {
        return None;
    }
    // The entries' indentation, from the first entry.
    let section_text = &text[header.start..end.start];
    let mut entries = lines(section_text)
        .skip(1)
        .filter(|l| !is_blank(l.text))
        .map(|l| Line {
            start: header.start + l.start,
            number: header.number + l.number,
            text: l.text,
        });
    let first = entries.next()?;
    let indent = first.text.len() - first.text.trim_start_matches(' ').len();
    if indent == 0 || !starts_entry(first.text, indent) {
        return None;
    }
    // By default, aim for the head and tail together to match the body.
    let aim = aim
        .unwrap_or_else(|| end.start.saturating_sub(text.len() / 2))
        .max(first.start + 1);
    let cut = entries.find(|l| l.start >= aim && starts_entry(l.text, indent))?;
    Some(Plan {
        section,
        head: Stretch {
            start: 0,
            end: cut.start,
            line: 0,
        },
        body: Stretch {
            start: cut.start,
            end: end.start,
            line: cut.number,
        },
        tail: Stretch {
            start: end.start,
            end: text.len(),
            line: end.number,
        },
        ascii,
    })
}

/// Whether the text breaks lines otherwise than with `\n` or `\r\n`: with a lone `\r` (which
/// YAML reads as a line break), or NEL, LS or PS (which some readings of YAML do). The scan for
/// a cut sees lines by `\n` only, and positions in the second part count lines the same way.
fn other_line_breaks(text: &str, ascii: bool) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'))
        || (!ascii && text.contains(['\u{85}', '\u{2028}', '\u{2029}']))
}

/// What reading one stretch gave, when it gave no problem at all.
struct Part {
    doc: Document,
    root_fields: u32,
    replayed: usize,
}

enum Role {
    Head,
    Body(NodeKind),
    Tail,
}

fn read(
    file: &SourceFile,
    id: FileId,
    limits: &Limits,
    ascii: bool,
    stretch: Stretch,
    role: Role,
) -> Option<Part> {
    let spanner = Spanner::of(file, id, stretch, ascii);
    // The body's top level is the section's mapping, two levels down in the file.
    let depth = if matches!(role, Role::Body(_)) { 1 } else { 0 };
    let mut decoder = Decoder::new(Events::inline(spanner, *limits, depth));
    let doc = match role {
        Role::Head => decoder.document(),
        Role::Body(section) => decoder.section_body(section),
        Role::Tail => {
            decoder.headless = true;
            decoder.document()
        }
    }
    .ok()?;
    decoder.diagnostics.is_empty().then(|| Part {
        doc,
        root_fields: decoder.root_fields,
        replayed: decoder.replayed(),
    })
}

/// Reads `file` in two parts at once following `plan`; `None` when the parts cannot be trusted
/// to give what one reading gives (see the module's documentation) or no thread could be had.
pub fn parse(file: &SourceFile, id: FileId, limits: &Limits, plan: &Plan) -> Option<Document> {
    let ascii = plan.ascii;
    std::thread::scope(|scope| {
        let body = std::thread::Builder::new()
            .name("topolint-parse".into())
            .spawn_scoped(scope, || {
                read(file, id, limits, ascii, plan.body, Role::Body(plan.section))
            })
            .ok()?;
        let head = read(file, id, limits, ascii, plan.head, Role::Head);
        let tail = match head {
            Some(_) if plan.tail.start < plan.tail.end => {
                read(file, id, limits, ascii, plan.tail, Role::Tail)
            }
            Some(_) => Some(Part {
                doc: Document::default(),
                root_fields: 0,
                replayed: 0,
            }),
            None => None,
        };
        let body = body.join().ok()??;
        let (mut head, tail) = (head?, tail?);
        let shared = head.root_fields & tail.root_fields != 0;
        let replayed = head.replayed + body.replayed + tail.replayed;
        if shared || replayed > limits.max_alias_expansion {
            return None;
        }
        head.doc.absorb(body.doc);
        head.doc.absorb(tail.doc);
        Some(head.doc)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "topolint: 1
system: shop
services:
  a:
    owner: x
  # a comment
  b:
    calls:
      - to: a

  c: {}
channels:
  orders: {}
";

    #[test]
    fn cuts_the_largest_section_at_an_entry() {
        let plan = plan(FILE, None).expect("a plan");
        assert_eq!(plan.section, NodeKind::Service);
        let cut = &FILE[plan.body.start..];
        assert!(cut.starts_with("  b:") || cut.starts_with("  c:"), "{cut}");
        assert_eq!(&FILE[plan.tail.start..], "channels:\n  orders: {}\n");
        // Line numbers match the offsets.
        assert_eq!(
            FILE[..plan.body.start].matches('\n').count(),
            plan.body.line
        );
        assert_eq!(
            FILE[..plan.tail.start].matches('\n').count(),
            plan.tail.line
        );
        assert_eq!(plan.head.end, plan.body.start);
        assert_eq!(plan.body.end, plan.tail.start);
    }

    #[test]
    fn a_section_at_the_end_leaves_an_empty_tail() {
        let text = "topolint: 1\nservices:\n  a: {}\n  b: {}\n  c: {}\n";
        let plan = plan(text, None).expect("a plan");
        assert_eq!(plan.tail.start, text.len());
        assert!(plan.body.start > text.find("  a:").unwrap());
    }

    #[test]
    fn unusual_layouts_are_not_cut() {
        // One entry: nowhere to cut.
        assert_eq!(plan("topolint: 1\nservices:\n  a: {}\n", None), None);
        // A flow mapping, entries at the margin, a second document after the section.
        assert_eq!(
            plan("topolint: 1\nservices: { a: {}, b: {} }\n", None),
            None
        );
        assert_eq!(
            plan(
                "topolint: 1\nservices:\n  a: {}\n  b: {}\n---\nx: 1\n",
                None
            ),
            None
        );
        assert_eq!(
            plan("topolint: 1\nservices:\n  \"a\": {}\n  \"b\": {}\n", None),
            None
        );
        assert_eq!(plan("[1, 2]\n", None), None);
        // Line breaks the scan does not see.
        let cuttable = "topolint: 1\nservices:\n  a: {}\n  b: {}\n  c: {}\n";
        assert!(plan(cuttable, None).is_some());
        assert!(plan(&cuttable.replace('\n', "\r\n"), None).is_some());
        for other in ["\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = cuttable.replacen("a: {}\n", &format!("a: {{}}{other}  z: {{}}\n"), 1);
            assert_eq!(plan(&text, None), None, "{other:?}");
        }
        assert_eq!(plan("", None), None);
    }
}
