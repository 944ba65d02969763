//! Source files, byte spans and the line index that turns offsets into lines and columns.
//!
//! Spans are byte offsets into one file. Lines and columns are computed on demand through a
//! [`LineIndex`] built once per file: characters for humans and SARIF, UTF-16 units for LSP.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Index of a file in [`Sources`]. Kept plus one in a `NonZeroU32`, so that the `None` of an
/// optional span, and of each of the model's many optional spanned values, takes no room of its
/// own (it saves 8 bytes on each optional spanned duration or number, 16 on a call).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(NonZeroU32);

impl FileId {
    pub const fn new(index: u32) -> FileId {
        match NonZeroU32::new(index.wrapping_add(1)) {
            Some(id) => FileId(id),
            None => panic!("more files than a u32 counts"),
        }
    }

    pub const fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl Default for FileId {
    fn default() -> FileId {
        FileId::new(0)
    }
}

impl std::fmt::Debug for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileId({})", self.index())
    }
}

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn cover(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// A line and column, both 1-based. `column` counts characters, `utf16` counts UTF-16 code units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    pub utf16: u32,
}

/// Byte offsets of line starts, so that offset → line is a binary search.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
    ascii: bool,
    /// The text's length: positions in ASCII text need nothing else.
    len: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0u32];
        let bytes = text.as_bytes();
        // Line ends found with memchr, many bytes at a time (a byte-at-a-time loop was 15 ms
        // of a 31 MB file); a lone `\r` ends a line too.
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                starts.push(i as u32 + 1);
            }
        }
        LineIndex {
            starts,
            ascii: text.is_ascii(),
            len: text.len() as u32,
        }
    }

    /// Whether the text it was built from is ASCII.
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line containing `offset`.
    pub fn line_of(&self, offset: u32) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> u32 {
        self.starts[line.min(self.starts.len() - 1)]
    }

    /// The position of a byte offset. `text` is read only when it is not ASCII (to count
    /// characters), so an ASCII file's text may be released ([`SourceFile::release_text`]).
    pub fn position(&self, text: &str, offset: u32) -> Position {
        let offset = offset.min(self.len);
        let line = self.line_of(offset);
        let start = self.starts[line];
        if self.ascii {
            let col = offset - start + 1;
            return Position {
                line: line as u32 + 1,
                column: col,
                utf16: col,
            };
        }
        let prefix = text.get(start as usize..offset as usize).unwrap_or("");
        Position {
            line: line as u32 + 1,
            column: prefix.chars().count() as u32 + 1,
            utf16: prefix.encode_utf16().count() as u32 + 1,
        }
    }

    /// Byte offset of a 0-based line and a 0-based column counted in characters.
    pub fn offset_of_char_col(&self, text: &str, line: usize, col: usize) -> usize {
        let start = self.line_start(line) as usize;
        if self.ascii {
            return (start + col).min(text.len());
        }
        let rest = text.get(start..).unwrap_or("");
        start
            + rest
                .char_indices()
                .nth(col)
                .map(|(i, _)| i)
                .unwrap_or(rest.len())
    }

    /// Byte offset of a 0-based line and a 0-based column in UTF-16 units (LSP positions).
    pub fn offset_of_utf16(&self, text: &str, line: usize, col: usize) -> usize {
        if line >= self.starts.len() {
            return text.len();
        }
        let start = self.line_start(line) as usize;
        let mut units = 0;
        for (i, ch) in text[start..].char_indices() {
            if units >= col || ch == '\n' {
                return start + i;
            }
            units += ch.len_utf16();
        }
        text.len()
    }
}

/// One loaded file: its path as the user named it, its text and its line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The path as shown in diagnostics (relative where possible, `/` separators).
    pub name: String,
    pub text: String,
    /// Built on first use: parsing an ASCII file does not need it, so a large file's index is
    /// built on another thread while the file is parsed (`load::parse_document`).
    lines: OnceLock<LineIndex>,
    /// The hash of a text set aside ([`SourceFile::set_text_aside`]), to know it again.
    aside: Option<u64>,
}

impl SourceFile {
    pub fn new(path: PathBuf, name: String, text: String) -> SourceFile {
        SourceFile {
            path,
            name,
            text,
            lines: OnceLock::new(),
            aside: None,
        }
    }

    /// The line index of the text.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    pub fn position(&self, offset: u32) -> Position {
        self.lines().position(&self.text, offset)
    }

    /// Frees the text of an ASCII file, keeping what positions need (its line index and length),
    /// and says whether it did. For `check` with a report that shows no source text: at 100k
    /// services the text is 31 MB that nothing reads while the rules run and the report is
    /// written. Afterwards only positions may be asked of the file.
    pub fn release_text(&mut self) -> bool {
        if !self.lines().is_ascii() {
            return false;
        }
        self.text = String::new();
        true
    }

    /// Frees the text as [`SourceFile::release_text`] does, keeping its hash, so that
    /// [`SourceFile::restore_text`] can read it from the file again once the model is gone: for
    /// reports that show source lines, at 100k services the text is 31 MB held while the rules
    /// run, where memory peaks.
    pub fn set_text_aside(&mut self) -> bool {
        if !self.lines().is_ascii() {
            return false;
        }
        self.aside = Some(text_hash(&self.text));
        self.release_text()
    }

    /// Reads a text set aside from the file again. The file must still hold the text that was
    /// checked, or the report would show other lines than the findings were made from:
    /// otherwise the text stays empty and the error says why.
    pub fn restore_text(&mut self) -> Result<(), String> {
        let Some(hash) = self.aside.take() else {
            return Ok(());
        };
        let changed = || format!("{} changed while it was checked", self.name);
        let bytes = std::fs::read(&self.path).map_err(|e| format!("{}: {e}", self.name))?;
        if bytes.len() != self.lines().len as usize {
            return Err(changed());
        }
        let text = String::from_utf8(bytes).map_err(|_| changed())?;
        if text_hash(&text) != hash {
            return Err(changed());
        }
        self.text = text;
        Ok(())
    }
}

/// A 64-bit hash of a text, to tell whether a file still holds it.
fn text_hash(text: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// All files of one topology.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId::new(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    /// Start and end positions of a span.
    pub fn range(&self, span: Span) -> (Position, Position) {
        let file = self.get(span.file);
        (file.position(span.start), file.position(span.end))
    }

    pub fn text(&self, span: Span) -> &str {
        self.get(span.file)
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_chars_and_utf16() {
        let text = "a: 1\nb: \"é𝄞x\"\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap() as u32;
        let pos = index.position(text, x);
        assert_eq!(pos.line, 2);
        assert_eq!(pos.column, 7); // b, :, space, ", é, 𝄞 → x is the 7th char
        assert_eq!(pos.utf16, 8); // 𝄞 is two UTF-16 units
        assert_eq!(index.offset_of_utf16(text, 1, 7), x as usize);
        assert_eq!(index.offset_of_char_col(text, 1, 6), x as usize);
    }

    #[test]
    fn positions_survive_releasing_an_ascii_text() {
        let text = "a: 1\r\nbb: 2\nccc: 3";
        let mut file = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.into());
        let before: Vec<Position> = (0..=text.len() as u32 + 2)
            .map(|o| file.position(o))
            .collect();
        assert!(file.release_text());
        assert!(file.text.is_empty());
        let after: Vec<Position> = (0..=text.len() as u32 + 2)
            .map(|o| file.position(o))
            .collect();
        assert_eq!(before, after);
        // Text beyond ASCII needs its characters counted: it is kept.
        let mut wide = SourceFile::new("w.yaml".into(), "w.yaml".into(), "é: 1\n".into());
        assert!(!wide.release_text());
        assert_eq!(wide.text, "é: 1\n");
    }

    #[test]
    fn a_text_set_aside_comes_back_from_its_file_unless_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.topology.yaml");
        let text = "a: 1\nbb: 2\n";
        std::fs::write(&path, text).unwrap();
        let mut file = SourceFile::new(path.clone(), "t.topology.yaml".into(), text.into());
        assert!(file.set_text_aside());
        assert!(file.text.is_empty());
        assert_eq!(file.restore_text(), Ok(()));
        assert_eq!(file.text, text);
        // The same length, another text: not shown.
        assert!(file.set_text_aside());
        std::fs::write(&path, "a: 2\nbb: 2\n").unwrap();
        let changed = Err("t.topology.yaml changed while it was checked".to_string());
        assert_eq!(file.restore_text(), changed);
        assert!(file.text.is_empty());
        // Nothing set aside, nothing read.
        assert_eq!(file.restore_text(), Ok(()));
        // A text beyond ASCII is kept, as by `release_text`.
        let mut wide = SourceFile::new(path, "w.yaml".into(), "é: 1\n".into());
        assert!(!wide.set_text_aside());
        assert_eq!(wide.restore_text(), Ok(()));
        assert_eq!(wide.text, "é: 1\n");
    }

    #[test]
    fn lines_start_after_every_line_end_of_any_kind() {
        // Line starts as a byte-at-a-time reading finds them.
        fn starts(text: &str) -> Vec<u32> {
            let b = text.as_bytes();
            let mut out = vec![0];
            for i in 0..b.len() {
                if b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                    out.push(i as u32 + 1);
                }
            }
            out
        }
        let mut texts: Vec<String> = ["", "\n", "\r", "\r\n", "\n\r", "a\rb\r\nc\nd\r", "\r\r\n\n"]
            .map(String::from)
            .to_vec();
        // Long texts, so that line ends fall on every place of the search's blocks.
        let pieces = ["a", "\n", "\r", "\r\n", "é", "bc: d"];
        let mut seed = 7u32;
        for _ in 0..4 {
            let mut text = String::new();
            for _ in 0..3_000 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                text.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
            }
            texts.push(text);
        }
        for text in &texts {
            let index = LineIndex::new(text);
            let expected = starts(text);
            assert_eq!(index.line_count(), expected.len(), "{text:?}");
            for (line, &start) in expected.iter().enumerate() {
                assert_eq!(index.line_start(line), start, "{text:?}");
            }
        }
    }

    #[test]
    fn line_of_handles_crlf_and_end() {
        let text = "a\r\nb\r\nc";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 3);
        assert_eq!(index.line_of(3), 1);
        assert_eq!(index.position(text, 7).line, 3);
    }
}
