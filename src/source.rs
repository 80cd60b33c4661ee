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
}

impl SourceFile {
    #[must_use]
    pub fn new(name: String, path: Option<PathBuf>, text: String) -> Self {
        let line_starts = line_starts(&text);
        Self { name, path, text, line_starts }
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

    /// 1-based line and 1-based column (in characters) of a byte offset.
    #[must_use]
    pub fn position(&self, byte: usize) -> Position {
        let byte = byte.min(self.text.len());
        let line = self.line_index(byte);
        let start = self.line_starts[line];
        let prefix = self.text.get(start..byte).unwrap_or("");
        Position { line: line + 1, column: prefix.chars().count() + 1 }
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

fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::with_capacity(text.len() / 32 + 1);
    starts.push(0);
    // `\n`, `\r\n` and a lone `\r` each end a line, as the YAML parser counts them.
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
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
}
