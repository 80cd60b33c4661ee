//! Text from the inputs made safe to print. Names, label values, port names and file
//! names can hold line breaks and terminal escape sequences: printed raw, they forge CI
//! workflow commands or run on the user's terminal. Every text format passes such text
//! through [`text`]; machine formats (JSON, SARIF) leave it to their own string escaping.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// `text` with every control character (C0, DEL, C1) shown as an escape: `\n`, `\r`,
/// `\t`, else `\u{1b}` and the like. Other characters, Unicode included, stay as they are.
#[must_use]
pub fn text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

/// One character of [`text`].
fn push_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// A path as a string, losslessly: bytes that are not UTF-8 become `\xff` escapes (not
/// U+FFFD, which would make two names look alike). Control characters stay: printers
/// escape them with [`text`].
#[must_use]
pub fn path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

/// The source text as the human format shows it in snippets: each control character but
/// tab and the line breaks replaced by a visible character of the same length in bytes
/// (`?` for C0 and DEL, `¿` for C1), so that every byte offset and column still holds.
#[must_use]
pub fn snippet(source: &str) -> Cow<'_, str> {
    let hidden = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if !source.chars().any(hidden) {
        return Cow::Borrowed(source);
    }
    Cow::Owned(
        source
            .chars()
            .map(|c| match c {
                c if !hidden(c) => c,
                c if c.len_utf8() == 1 => '?',
                _ => '¿',
            })
            .collect(),
    )
}

/// Data of a GitHub Actions workflow command (and, with `property`, a property value):
/// `%`, CR and LF percent-encoded as the runner decodes them, `:` and `,` too in a
/// property; any other control character shown as in [`text`], since the runner would
/// print it raw. Input text must have been through [`text`] first, so that only the line
/// breaks meshlint itself puts in (before `help:`) become `%0A`.
#[must_use]
pub fn github(text: &str, property: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c => push_char(&mut out, c),
        }
    }
    out
}

/// A relative URI reference for a file name as SARIF wants it: forward slashes; space,
/// `%`, `#`, `?` and every control character percent-encoded (each UTF-8 byte), and each
/// byte that is not UTF-8 (raw bytes of the path, when there is one) as `%XX`.
#[must_use]
pub fn uri(name: &str, raw: Option<&Path>) -> String {
    let bytes: Cow<'_, [u8]> = match raw {
        #[cfg(unix)]
        Some(p) => {
            use std::os::unix::ffi::OsStrExt;
            let b = p.as_os_str().as_bytes();
            Cow::Borrowed(b.strip_prefix(b"./").unwrap_or(b))
        }
        _ => Cow::Borrowed(name.as_bytes()),
    };
    let mut out = String::with_capacity(bytes.len());
    let mut buf = [0; 4];
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push('/'),
                ' ' | '%' | '#' | '?' => percent(&mut out, c.encode_utf8(&mut buf).as_bytes()),
                c if c.is_control() => percent(&mut out, c.encode_utf8(&mut buf).as_bytes()),
                c => out.push(c),
            }
        }
        percent(&mut out, chunk.invalid());
    }
    out
}

fn percent(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "%{b:02X}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_and_unicode_kept() {
        assert_eq!(
            text("a\n::error::x\u{1b}]8;;\u{7}é\u{9b}\u{7f}\t\r"),
            "a\\n::error::x\\u{1b}]8;;\\u{7}é\\u{9b}\\u{7f}\\t\\r"
        );
        assert!(matches!(text("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn snippet_text_keeps_every_offset() {
        let source = "a\u{1b}b\u{9b}c\td\r\n";
        let shown = snippet(source);
        assert_eq!(shown, "a?b¿c\td\r\n");
        assert_eq!(shown.len(), source.len());
    }

    #[test]
    fn github_escapes_follow_the_runner() {
        assert_eq!(github("a%b\r\nc:d,e\u{1b}", false), "a%25b%0D%0Ac:d,e\\u{1b}");
        assert_eq!(github("a:b,c", true), "a%3Ab%2Cc");
    }

    #[test]
    fn uris_encode_reserved_and_control_characters() {
        assert_eq!(uri("dir\\a b#?%\n\u{1b}é.yaml", None), "dir/a%20b%23%3F%25%0A%1Bé.yaml");
    }
}
