//! Source files: their text, their display path and the line index that turns byte
//! offsets into `line:column` positions. Everything that points into a file uses byte
//! offsets; columns are counted in characters only when they are shown.

use std::ops::Range;
use std::path::PathBuf;

/// Index of a source file within one run (stable: files are sorted by path).
pub type FileId = usize;

/// One input file (or stdin) held in memory for the whole run.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative as given, or the stdin name).
    pub name: String,
    /// The path on disk, when the file came from disk.
    pub path: Option<PathBuf>,
    pub text: String,
    line_starts: Vec<usize>,
    /// Characters before every `CHAR_MARK_STEP`-th byte, so that a column is counted
    /// from the nearest mark rather than from its line's start (a minified JSON file is
    /// one long line). Empty when the text is ASCII: a column is then a byte difference.
    char_marks: Vec<u32>,
}

/// Bytes between two entries of `SourceFile::char_marks`.
const CHAR_MARK_STEP: usize = 256;

impl SourceFile {
    #[must_use]
    pub fn new(name: String, path: Option<PathBuf>, text: String) -> Self {
        let line_starts = line_starts(&text);
        let char_marks = if text.is_ascii() { Vec::new() } else { char_marks(text.as_bytes()) };
        Self { name, path, text, line_starts, char_marks }
    }

    /// Byte offsets at which each line begins (the first is 0).
    #[must_use]
    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }

    /// 0-based line of a byte offset.
    #[must_use]
    pub fn line_index(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset. An offset
    /// inside a character is at column 1. Takes O(log lines) time, whatever the length
    /// of the line.
    #[must_use]
    pub fn position(&self, byte: usize) -> Position {
        let byte = byte.min(self.text.len());
        let line = self.line_index(byte);
        let start = self.line_starts[line];
        let column = if !self.text.is_char_boundary(byte) {
            0
        } else if self.char_marks.is_empty() {
            byte - start
        } else {
            self.chars_before(byte) - self.chars_before(start)
        };
        Position { line: line + 1, column: column + 1 }
    }

    /// Number of characters before byte offset `byte` (a character boundary) of a text
    /// that has `char_marks`.
    fn chars_before(&self, byte: usize) -> usize {
        let mark = byte / CHAR_MARK_STEP;
        let from = mark * CHAR_MARK_STEP;
        self.char_marks[mark] as usize + count_chars(&self.text.as_bytes()[from..byte])
    }

    /// The text of a 0-based line, without its line break.
    #[must_use]
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line];
        let end = self.line_starts.get(line + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The byte range of a 0-based line, without its line break.
    #[must_use]
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let start = self.line_starts[line];
        start..start + self.line_text(line).len()
    }

    #[must_use]
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// A 1-based line and column (column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Characters starting in `bytes`, which may begin or end inside a character: every byte
/// that is not a UTF-8 continuation byte starts one.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// `SourceFile::char_marks`: entry i counts the characters that start before byte
/// i × `CHAR_MARK_STEP`; one entry more than full steps, so that every offset up to the
/// text's length has its mark.
fn char_marks(bytes: &[u8]) -> Vec<u32> {
    let mut marks = Vec::with_capacity(bytes.len() / CHAR_MARK_STEP + 1);
    let mut count = 0usize;
    marks.push(0);
    for chunk in bytes.chunks(CHAR_MARK_STEP) {
        count += count_chars(chunk);
        marks.push(count as u32);
    }
    marks
}

fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::with_capacity(text.len() / 32 + 1);
    starts.push(0);
    // `\n`, `\r\n` and a lone `\r` each end a line, as the YAML parser counts them.
    if memchr::memchr(b'\r', bytes).is_none() {
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        return starts;
    }
    for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
            starts.push(i + 1);
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_break_style_counts() {
        let file = SourceFile::new("t".into(), None, "a: 1\rb: 2\r\nc: é\nd".into());
        assert_eq!(file.line_starts(), &[0, 5, 11, 17]);
        assert_eq!(file.position(14), Position { line: 3, column: 4 });
        assert_eq!(file.position(17), Position { line: 4, column: 1 });
        assert_eq!(file.line_text(1), "b: 2");
    }

    #[test]
    fn columns_count_characters_across_marks() {
        // Lines longer than the mark step, with multi-byte characters on both sides of
        // several marks: every column agrees with counting from the line's start.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&"aé€😀".repeat(i * 7));
            text.push_str("x: ü\r\n");
        }
        let file = SourceFile::new("t".into(), None, text.clone());
        for byte in 0..=text.len() {
            let line = file.line_index(byte);
            let start = file.line_starts()[line];
            let expected = text.get(start..byte).map_or(1, |p| p.chars().count() + 1);
            assert_eq!(file.position(byte), Position { line: line + 1, column: expected }, "byte {byte}");
        }
    }
}
