//! A parser of its own for the block-style subset of YAML that nearly every manifest is
//! written in: block mappings and sequences (indentless ones too), plain and quoted
//! scalars (over several lines too, but for a double-quoted one with an escaped line
//! break), literal and folded block scalars with chomping and indentation indicators,
//! flow collections of scalars on one line, comments and document markers. It builds the
//! same tree as the general parser (same nodes, spans, values, styles and duplicate keys,
//! through the same `Builder`) at a third of its cost, and declines (`None`) at the first
//! thing outside the subset or in doubt: a tab outside a block scalar's text, a carriage
//! return, a control character, an anchor, alias, tag or directive, a nested or
//! multi-line flow collection, an escape it does not know, a key it cannot be sure of, an
//! error. The general parser then reads the whole file, so every syntax error and every
//! unusual layout is still its business alone.
//!
//! The property that makes it safe is checked by `tests/yaml_block.rs` on every file of
//! the corpus, the fixtures and the reference, by `tests/mutations.rs` on thousands of
//! mutated files, and by the `yaml_block` fuzz target: whenever this parser accepts a
//! text, the general parser gives an equal `Stream`.

use super::{Builder, Offsets, Stream, Style};

/// Collections nested deeper than this are left to the general parser, which enforces
/// `MAX_DEPTH` (and the recursion here stays shallow).
const MAX_NESTING: usize = 64;

/// Keys longer than this are left to the general parser, which limits a key on one line
/// to 1,024 characters.
const MAX_KEY: usize = 512;

/// Parse `text` when it is within the subset.
pub(super) fn parse(text: &str) -> Option<Stream> {
    if !plain_text(text) {
        return None;
    }
    let offsets = Offsets::new(text, 0, &[]);
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        b: Builder::new(&offsets),
        out: Stream::default(),
        depth: 0,
        buf: String::new(),
        scalars: Vec::new(),
    };
    p.stream()?;
    tabs_in(text, &p.scalars).then_some(p.out)
}

/// No byte that the subset leaves to the general parser: carriage returns and other
/// control characters but tabs (see `tabs_in`), a byte order mark, and the non-ASCII
/// characters YAML treats as line breaks or does not allow.
fn plain_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    // In blocks, and without the early exit of `&&`, so that the loop is vectorised: 0.6
    // ms a pass over the corpus, where `&&` and `||` take 8 ms and counting 3 – 6 ms.
    // (The three tests of a byte exclude one another: `|` and `^` are the same here.)
    #[allow(clippy::needless_bitwise_bool)]
    let clean = bytes
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & ((b >= 0x20 && b != 0x7f) | (b == b'\n') | (b == b'\t'))));
    clean
        && (text.is_ascii()
            || !text.chars().any(|c| {
                matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
            }))
}

/// A column or an indentation as a signed number (-1 stands for "left of the root").
fn ix(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// Whether every tab of `text` is inside a block scalar (`scalars`, in the order of the
/// text), where it is text; anywhere else it is left to the general parser.
fn tabs_in(text: &str, scalars: &[(usize, usize)]) -> bool {
    let mut scalars = scalars.iter().peekable();
    memchr::memchr_iter(b'\t', text.as_bytes()).all(|tab| {
        while scalars.next_if(|&&(_, end)| end <= tab).is_some() {}
        scalars.peek().is_some_and(|&&(start, _)| start <= tab)
    })
}

/// A line with content (not blank, not only a comment).
#[derive(Clone, Copy)]
struct Line {
    /// The number of spaces before its content.
    indent: usize,
    /// The offset of its content.
    at: usize,
}

/// What follows a node: the next line with content, `None` at the end of the text.
type Next = Option<Line>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// A plain or quoted scalar: its span, its style, and whether it runs over several
/// lines (which are folded into its value).
#[derive(Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    style: Style,
    lines: bool,
}

struct Parser<'t, 'o> {
    text: &'t str,
    bytes: &'t [u8],
    b: Builder<'o>,
    out: Stream,
    /// Collections open.
    depth: usize,
    /// The value of the scalar being built, when it is not a slice of the text.
    buf: String,
    /// The text of every block scalar read, from the line after its header to its end:
    /// the only places a tab may be.
    scalars: Vec<(usize, usize)>,
}

impl Parser<'_, '_> {
    fn stream(&mut self) -> Option<()> {
        let len = self.bytes.len();
        let mut next = self.next_content(0);
        while let Some(line) = next {
            let explicit = match self.marker(line) {
                Some(b'-') => true,
                Some(_) => return None,
                None => false,
            };
            let content = if explicit {
                let after = self.rest_is_blank(line.at + 3)?;
                self.next_content(after)
            } else {
                Some(line)
            };
            self.b.begin_document(line.at);
            let after = match content {
                Some(c) if self.marker(c).is_none() => {
                    if self.is_dash(c.at) {
                        self.sequence(c.at, c.indent)?
                    } else {
                        // (A scalar or flow collection as the root has no key: declined.)
                        let key = self.key(c.at)?;
                        self.mapping(c.at, c.indent, key)?
                    }
                }
                _ => {
                    // `---` with nothing after it, up to the next marker or the end: a
                    // null root spanning that marker.
                    let (start, end) = content.map_or((len, len), |c| (c.at, c.at + 3));
                    self.b.scalar("", Style::Plain, None, 0, start, end);
                    content
                }
            };
            match after {
                None => {
                    self.b.end_document(len, &mut self.out);
                    return Some(());
                }
                Some(c) => match self.marker(c) {
                    Some(b'-') => {
                        self.b.end_document(c.at + 3, &mut self.out);
                        next = Some(c);
                    }
                    Some(_) => {
                        self.b.end_document(c.at + 3, &mut self.out);
                        let after = self.rest_is_blank(c.at + 3)?;
                        next = self.next_content(after);
                    }
                    // More content after the root: an error. (This is also where a
                    // line indented past the collection it follows ends up: no
                    // collection takes a line at any column but its own, so each closes
                    // in turn, up to the root.)
                    None => return None,
                },
            }
        }
        Some(())
    }

    /// A node whose first token is at `at`, in column `col`, inside a collection of
    /// indentation `parent`.
    fn block_node(&mut self, at: usize, col: usize, parent: isize) -> Option<Next> {
        if self.is_dash(at) {
            return self.sequence(at, col);
        }
        if let Some(key) = self.key(at) {
            return self.mapping(at, col, key);
        }
        self.inline_value(at, parent)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_NESTING).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.b.end_collection(0, &mut self.out.duplicates);
    }

    /// A block mapping whose first key (`key`) starts at `at`, in column `col`.
    fn mapping(&mut self, at: usize, col: usize, first: (Token, usize)) -> Option<Next> {
        self.enter()?;
        self.b.open(true, 0, at, at);
        let (mut key, mut colon) = first;
        loop {
            self.emit(key);
            let next = self.mapping_value(colon, col)?;
            match next {
                Some(line) if self.level(next) == ix(col) => {
                    if self.is_dash(line.at) {
                        return None;
                    }
                    (key, colon) = self.key(line.at)?;
                }
                _ => {
                    self.leave();
                    return Some(next);
                }
            }
        }
    }

    /// The value after the `:` at `colon` of a key in column `col`.
    fn mapping_value(&mut self, colon: usize, col: usize) -> Option<Next> {
        let after = colon + 1;
        let v = self.skip_spaces(after);
        if self.ends_line(v, after) {
            return self.value_below(v, col, colon, true);
        }
        self.inline_value(v, ix(col))
    }

    /// The value of a key (`key`) or an item in column `col` whose line ends at `v`: the
    /// node on the next line with content when it is indented past `col` (or, for a key,
    /// a sequence at `col`), else a null at `null_at` (the general parser puts a key's at
    /// its `:`, an item's at the end of its line).
    fn value_below(&mut self, v: usize, col: usize, null_at: usize, key: bool) -> Option<Next> {
        let next = self.next_content(self.next_line(v));
        match next {
            Some(line) if self.level(next) > ix(col) => self.block_node(line.at, line.indent, ix(col)),
            Some(line) if key && self.level(next) == ix(col) && self.is_dash(line.at) => {
                self.indentless_sequence(line, col)
            }
            _ => {
                self.b.scalar("", Style::Plain, None, 0, null_at, null_at);
                Some(next)
            }
        }
    }

    /// A block sequence whose first `-` is at `at`, in column `col`.
    fn sequence(&mut self, at: usize, col: usize) -> Option<Next> {
        self.enter()?;
        self.b.open(false, 0, at, at);
        self.sequence_items(at, col)
    }

    /// A sequence written at its key's column (`key:` then `- item` below it): it starts
    /// at its first item's first token.
    fn indentless_sequence(&mut self, first: Line, col: usize) -> Option<Next> {
        let after = first.at + 1;
        let v = self.skip_spaces(after);
        if self.ends_line(v, after) {
            return None;
        }
        self.enter()?;
        self.b.open(false, 0, v, v);
        self.sequence_items(first.at, col)
    }

    fn sequence_items(&mut self, mut dash: usize, col: usize) -> Option<Next> {
        loop {
            let next = self.sequence_item(dash, col)?;
            match next {
                Some(line) if self.level(next) == ix(col) && self.is_dash(line.at) => dash = line.at,
                _ => {
                    self.leave();
                    return Some(next);
                }
            }
        }
    }

    /// The item after the `-` at `dash`, in column `col`.
    fn sequence_item(&mut self, dash: usize, col: usize) -> Option<Next> {
        let after = dash + 1;
        let v = self.skip_spaces(after);
        if self.ends_line(v, after) {
            return self.value_below(v, col, self.line_end(v), false);
        }
        let vcol = col + (v - dash);
        if self.is_dash(v) {
            return self.sequence(v, vcol);
        }
        if let Some(key) = self.key(v) {
            return self.mapping(v, vcol, key);
        }
        self.inline_value(v, ix(col))
    }

    /// A scalar or a flow collection on one line starting at `v`, the value of a node in
    /// a collection of indentation `parent`.
    fn inline_value(&mut self, v: usize, parent: isize) -> Option<Next> {
        let bytes = self.bytes;
        let token = match bytes[v] {
            b'|' | b'>' => return self.block_scalar(v, parent),
            b'"' | b'\'' => self.quoted(v, parent)?,
            b'[' | b'{' => {
                let close = self.flow(v)?;
                let after = self.rest_is_blank(close)?;
                return self.after_scalar(after, parent);
            }
            b'-' | b'?' | b':' if !bytes.get(v + 1).is_some_and(|&b| b != b' ' && b != b'\n') => return None,
            b',' | b']' | b'}' | b'#' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' => return None,
            _ => self.plain_value(v, parent)?,
        };
        let after =
            if token.style == Style::Plain { self.next_line(token.end) } else { self.rest_is_blank(token.end)? };
        self.emit(token);
        self.after_scalar(after, parent)
    }

    /// The line after a scalar value, which must not be indented past the scalar's
    /// collection: a more indented line would continue the scalar, or be an error.
    fn after_scalar(&self, line_start: usize, parent: isize) -> Option<Next> {
        let next = self.next_content(line_start);
        (self.level(next) <= parent).then_some(next)
    }

    /// A plain scalar value from `v`, in a collection of indentation `parent`: to the end
    /// of its line or its comment, and over the lines below it indented past `parent`.
    fn plain_value(&self, v: usize, parent: isize) -> Option<Token> {
        let mut end = v + self.plain_line(v)?;
        let mut lines = false;
        let mut line = self.next_line(end);
        if self.comment_follows(end) {
            return Some(Token { start: v, end, style: Style::Plain, lines });
        }
        loop {
            let indent = self.spaces(line);
            let at = line + indent;
            match self.bytes.get(at) {
                // The end of the text, or a comment.
                None | Some(b'#') => break,
                Some(b'\n') => {
                    line = at + 1;
                    continue;
                }
                Some(_) if ix(indent) <= parent => break,
                // A continuation line may start with an indicator, except these
                // followed by a space (an item, a key, a value).
                Some(b'-' | b'?' | b':') if self.bytes.get(at + 1).is_none_or(|&b| b == b' ' || b == b'\n') => {
                    return None;
                }
                Some(_) => {}
            }
            end = at + self.plain_line(at)?;
            lines = true;
            if self.comment_follows(end) {
                break;
            }
            line = self.next_line(end);
        }
        Some(Token { start: v, end, style: Style::Plain, lines })
    }

    /// Whether a comment follows `end` on its line (which ends a plain scalar).
    fn comment_follows(&self, end: usize) -> bool {
        self.bytes.get(self.skip_spaces(end)) == Some(&b'#')
    }

    /// The length of the plain text at `v` on its line, up to a comment, without the
    /// spaces before it; `None` for text with `: ` or a final `:` (a mapping where a
    /// scalar must be, an error).
    fn plain_line(&self, v: usize) -> Option<usize> {
        // (The callers start it at text: its first byte is neither a space nor `#`.)
        let line = &self.bytes[v..self.line_end(v)];
        let mut end = line.len();
        for i in memchr::memchr2_iter(b':', b'#', line) {
            if line[i] == b'#' {
                if line[..i].ends_with(b" ") {
                    end = i;
                    break;
                }
            } else if i + 1 == line.len() || line[i + 1] == b' ' {
                return None;
            }
        }
        Some(line[..end].iter().rposition(|&b| b != b' ').map_or(0, |last| last + 1))
    }

    /// A key at `at` followed by `:` and a space or the end of the line: the key and the
    /// offset of its `:`.
    fn key(&self, at: usize) -> Option<(Token, usize)> {
        let bytes = self.bytes;
        let (token, colon) = match bytes[at] {
            b'"' | b'\'' => {
                let token = self.quoted_line(at)?;
                (token, token.end)
            }
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%'
            | b'@' | b'`' => return None,
            _ => {
                let line = &bytes[at..self.line_end(at)];
                let colon = memchr::memchr2_iter(b':', b'#', line).find_map(|i| match line[i] {
                    b'#' if line[i - 1] == b' ' => Some(None),
                    b':' if i + 1 == line.len() || line[i + 1] == b' ' => Some(Some(i)),
                    _ => None,
                })??;
                if line[colon - 1] == b' ' {
                    return None;
                }
                (Token { start: at, end: at + colon, style: Style::Plain, lines: false }, at + colon)
            }
        };
        let after = bytes.get(colon + 1);
        (bytes.get(colon) == Some(&b':')
            && after.is_none_or(|&b| b == b' ' || b == b'\n')
            && token.end - token.start <= MAX_KEY)
            .then_some((token, colon))
    }

    /// A quoted scalar opening at `at` and closing on the same line.
    fn quoted_line(&self, at: usize) -> Option<Token> {
        let token = self.quoted(at, isize::MAX)?;
        (!token.lines).then_some(token)
    }

    /// A quoted scalar opening at `at`, in a collection of indentation `parent`: on one
    /// line, or on several whose continuation lines are indented past `parent`.
    fn quoted(&self, at: usize, parent: isize) -> Option<Token> {
        let bytes = self.bytes;
        let quote = bytes[at];
        let style = if quote == b'\'' { Style::SingleQuoted } else { Style::DoubleQuoted };
        let mut lines = false;
        let mut i = at + 1;
        loop {
            i += memchr::memchr3(quote, b'\\', b'\n', &bytes[i..])?;
            match bytes[i] {
                b'\n' => {
                    // A line break inside: the next line must be indented past the
                    // collection and hold text (an empty line is a line break kept).
                    if parent == isize::MAX {
                        return None;
                    }
                    if style == Style::DoubleQuoted {
                        // A backslash at the end of a line escapes the line break (or,
                        // with a space, keeps that space): left to the general parser.
                        let mut j = i;
                        while bytes[j - 1] == b' ' {
                            j -= 1;
                        }
                        if bytes[j - 1] == b'\\' {
                            return None;
                        }
                    }
                    if !lines && bytes[at + 1..i].iter().all(|&b| b == b' ') {
                        // No text on the first line.
                        return None;
                    }
                    lines = true;
                    let line = i + 1;
                    let indent = self.spaces(line);
                    let next = bytes.get(line + indent);
                    if next == Some(&b'\n') {
                        i = line + indent;
                        continue;
                    }
                    if ix(indent) <= parent || next.is_none() || next == Some(&quote) {
                        return None;
                    }
                    i = line + indent;
                }
                b'\\' if quote == b'"' => i += 1 + escape_len(&bytes[i + 1..])?,
                b'\\' => i += 1,
                _ if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                _ => return Some(Token { start: at, end: i + 1, style, lines }),
            }
        }
    }

    /// Add a scalar to the tree.
    fn emit(&mut self, t: Token) {
        let raw = &self.text[t.start..t.end];
        let inner = match t.style {
            Style::Plain => raw,
            _ => &raw[1..raw.len() - 1],
        };
        let simple = !t.lines
            && match t.style {
                Style::SingleQuoted => !inner.contains('\''),
                Style::DoubleQuoted => !inner.contains('\\'),
                _ => true,
            };
        if simple {
            self.b.scalar(inner, t.style, None, 0, t.start, t.end);
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if t.lines {
            fold(inner, t.style != Style::Plain, &mut buf);
        } else {
            buf.push_str(inner);
        }
        if t.style == Style::SingleQuoted {
            buf = buf.replace("''", "'");
        } else if t.style == Style::DoubleQuoted {
            buf = unescape(&buf);
        }
        self.b.scalar(&buf, t.style, None, 0, t.start, t.end);
        self.buf = buf;
    }

    /// A flow collection opening at `v` and closing on the same line, whose entries are
    /// scalars (`[a, "b"]`, `{k: v, "k2": 'v2'}`); the offset after its closing bracket.
    fn flow(&mut self, v: usize) -> Option<usize> {
        let bytes = self.bytes;
        let map = bytes[v] == b'{';
        let close = if map { b'}' } else { b']' };
        self.b.open(map, 0, v, v + 1);
        let mut i = self.skip_spaces(v + 1);
        if bytes.get(i) != Some(&close) {
            loop {
                let key = self.flow_scalar(i)?;
                i = self.skip_spaces(key.end);
                if map {
                    if bytes.get(i) != Some(&b':') || bytes.get(i + 1) != Some(&b' ') {
                        return None;
                    }
                    let value = self.flow_scalar(self.skip_spaces(i + 1))?;
                    self.emit(key);
                    self.emit(value);
                    i = self.skip_spaces(value.end);
                } else {
                    self.emit(key);
                }
                match bytes.get(i) {
                    Some(b',') => {
                        i = self.skip_spaces(i + 1);
                        if bytes.get(i).is_some_and(|&b| b == close) {
                            // A trailing comma.
                            return None;
                        }
                    }
                    Some(&b) if b == close => break,
                    _ => return None,
                }
            }
        }
        // The general parser ends the closing bracket's token where the line ends, past
        // the spaces and any comment after it (the callers allow nothing else there).
        self.b.end_collection(self.line_end(i), &mut self.out.duplicates);
        Some(i + 1)
    }

    /// A scalar in a flow collection at `at`, on one line.
    fn flow_scalar(&self, at: usize) -> Option<Token> {
        let bytes = self.bytes;
        match *bytes.get(at)? {
            b'"' | b'\'' => return self.quoted_line(at),
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%'
            | b'@' | b'`' | b' ' | b'\n' => return None,
            _ => {}
        }
        let mut i = at;
        let end = loop {
            match bytes.get(i) {
                // Not closed on this line, or a nested collection.
                None | Some(b'\n' | b'[' | b'{') => return None,
                Some(b',' | b']' | b'}') => break i,
                Some(b'#') if bytes[i - 1] == b' ' => return None,
                Some(b':')
                    if bytes
                        .get(i + 1)
                        .is_none_or(|&b| matches!(b, b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')) =>
                {
                    break i;
                }
                _ => i += 1,
            }
        };
        let mut end = end;
        while bytes[end - 1] == b' ' {
            end -= 1;
        }
        Some(Token { start: at, end, style: Style::Plain, lines: false })
    }

    /// A literal or folded block scalar whose header (`|`, `>-`...) is at `v`, the value
    /// of a node in a collection of indentation `parent`.
    fn block_scalar(&mut self, v: usize, parent: isize) -> Option<Next> {
        let bytes = self.bytes;
        let len = bytes.len();
        let literal = bytes[v] == b'|';
        let mut i = v + 1;
        let mut chomp = Chomp::Clip;
        let mut explicit = None;
        for _ in 0..2 {
            match bytes.get(i) {
                Some(b'-') if chomp == Chomp::Clip => chomp = Chomp::Strip,
                Some(b'+') if chomp == Chomp::Clip => chomp = Chomp::Keep,
                Some(&d @ b'1'..=b'9') if explicit.is_none() => explicit = Some(usize::from(d - b'0')),
                _ => break,
            }
            i += 1;
        }
        let mut line = self.rest_is_blank(i)?;
        let line_after_header = line;
        // An indentation indicator counts from the collection's indentation; without
        // one, the indentation is that of the first line with content, and the empty
        // lines before it may not have more spaces.
        let indent = if let Some(n) = explicit {
            usize::try_from(parent).ok()? + n
        } else {
            let mut at = line;
            let mut most = 0;
            loop {
                let spaces = self.spaces(at);
                match bytes.get(at + spaces) {
                    Some(b'\n') => {
                        most = most.max(spaces);
                        at += spaces + 1;
                    }
                    Some(_) if spaces >= most && ix(spaces) > parent => break spaces,
                    // Only empty lines, or no content (an empty scalar).
                    _ => return None,
                }
            }
        };
        let mut start = None;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        // Empty lines since the last line of content.
        let mut empty = 0;
        // Whether the last line of content was more indented (folded scalars keep the
        // line breaks around such lines).
        let mut more_indented = false;
        let mut first = true;
        let end = loop {
            if line >= len {
                break len;
            }
            let eol = self.line_end(line);
            let spaces = self.spaces(line);
            if line + spaces == eol && spaces <= indent {
                if eol == len {
                    // Spaces on a last line without a line break.
                    self.buf = buf;
                    return None;
                }
                empty += 1;
                line = eol + 1;
                continue;
            }
            if spaces < indent {
                break line + spaces;
            }
            // (`get`: a last line of spaces past the indentation, without a line break,
            // ends at the end of the text.)
            if self.bytes.get(line + spaces) == Some(&b'\t')
                && self.bytes[line + spaces..eol].iter().all(|&b| b == b' ' || b == b'\t')
            {
                // A line of white space with a tab: empty, or text? Left to the general
                // parser.
                self.buf = buf;
                return None;
            }
            if eol == len {
                // The last line has no line break.
                self.buf = buf;
                return None;
            }
            start.get_or_insert(line + indent);
            let content = &self.text[line + indent..eol];
            let more = content.starts_with([' ', '\t']);
            if literal || first {
                buf.extend(std::iter::repeat_n('\n', empty));
            } else if empty == 0 && !more && !more_indented {
                buf.push(' ');
            } else {
                // A line break kept: the one before the empty lines (unless around a
                // more indented line) and one per empty line.
                buf.extend(std::iter::repeat_n('\n', empty + usize::from(more || more_indented)));
            }
            buf.push_str(content);
            if literal {
                buf.push('\n');
            }
            empty = 0;
            more_indented = more;
            first = false;
            line = eol + 1;
        };
        let Some(start) = start else {
            // No line with content: an empty scalar.
            self.buf = buf;
            return None;
        };
        self.scalars.push((line_after_header, end));
        if !literal {
            buf.push('\n');
        }
        match chomp {
            Chomp::Strip => {
                buf.pop();
            }
            Chomp::Clip => {}
            Chomp::Keep => buf.extend(std::iter::repeat_n('\n', empty)),
        }
        let style = if literal { Style::Literal } else { Style::Folded };
        self.b.scalar(&buf, style, None, 0, start, end);
        self.buf = buf;
        self.after_scalar(line.min(len), parent)
    }

    /// The indentation of `line` for the collection rules: -1 at the end of the text and
    /// for a document marker (both close every collection).
    fn level(&self, line: Next) -> isize {
        match line {
            Some(l) if self.marker(l).is_none() => ix(l.indent),
            _ => -1,
        }
    }

    /// `-` or `.` when `line` is a document marker (`---`, `...` at the start of a line,
    /// followed by a space or the end of the line).
    fn marker(&self, line: Line) -> Option<u8> {
        let rest = &self.bytes[line.at..];
        (line.indent == 0
            && (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && rest.get(3).is_none_or(|&b| b == b' ' || b == b'\n'))
        .then_some(rest[0])
    }

    /// Whether a `-` at `at` starts a sequence item.
    fn is_dash(&self, at: usize) -> bool {
        self.bytes[at] == b'-' && self.bytes.get(at + 1).is_none_or(|&b| b == b' ' || b == b'\n')
    }

    /// Whether nothing but a comment follows on the line at `v` (`v` after the spaces
    /// that follow `token_end`).
    fn ends_line(&self, v: usize, token_end: usize) -> bool {
        v == self.bytes.len() || self.bytes[v] == b'\n' || (self.bytes[v] == b'#' && v > token_end)
    }

    /// The start of the next line when only spaces and a comment follow `pos` on its
    /// line (a comment after at least one space).
    fn rest_is_blank(&self, pos: usize) -> Option<usize> {
        let v = self.skip_spaces(pos);
        self.ends_line(v, pos).then(|| self.next_line(v))
    }

    fn skip_spaces(&self, pos: usize) -> usize {
        pos + self.spaces(pos)
    }

    fn spaces(&self, pos: usize) -> usize {
        self.bytes[pos.min(self.bytes.len())..].iter().take_while(|&&b| b == b' ').count()
    }

    /// The offset of the line break ending the line of `pos`, or the end of the text.
    fn line_end(&self, pos: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[pos..]).map_or(self.bytes.len(), |i| pos + i)
    }

    /// The start of the line after the line of `pos`, or the end of the text.
    fn next_line(&self, pos: usize) -> usize {
        (self.line_end(pos) + 1).min(self.bytes.len())
    }

    /// The first line with content from the line starting at `pos`.
    fn next_content(&self, mut pos: usize) -> Next {
        loop {
            let indent = self.spaces(pos);
            let at = pos + indent;
            match self.bytes.get(at) {
                // The end of the text.
                None => return None,
                Some(b'\n') => pos = at + 1,
                Some(b'#') => pos = self.next_line(at),
                Some(_) => return Some(Line { indent, at }),
            }
        }
    }
}

/// The length of the escape after a `\\` in a double-quoted scalar (`n`, `x41`,
/// `u00e9`...), `None` for one the subset leaves to the general parser.
fn escape_len(rest: &[u8]) -> Option<usize> {
    let hex = |n: usize| rest.get(1..=n).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)).then_some(n + 1);
    match rest.first()? {
        b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"' | b'/' | b'\\' | b'N' | b'_'
        | b'L' | b'P' => Some(1),
        b'x' => hex(2),
        b'u' => hex(4).filter(|_| char_at(&rest[1..5]).is_some()),
        b'U' => hex(8).filter(|_| char_at(&rest[1..9]).is_some()),
        _ => None,
    }
}

/// The character of a hexadecimal code point.
fn char_at(hex: &[u8]) -> Option<char> {
    char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)
}

/// The value of a double-quoted scalar's text, its escapes checked by `escape_len`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let bytes = &rest.as_bytes()[i + 1..];
        let n = escape_len(bytes).unwrap_or(1);
        out.push(match bytes[0] {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' | b'u' | b'U' => char_at(&bytes[1..n]).unwrap_or('\u{fffd}'),
            b => char::from(b),
        });
        rest = &rest[i + 1 + n..];
    }
    out.push_str(rest);
    out
}

/// The value of a scalar written over several lines (`inner`, inside its quotes if
/// quoted): each line break between two lines of text becomes a space, each empty line
/// a line break; the spaces around line breaks go, except those of the first line's
/// start and the last line's end of a quoted scalar.
fn fold(inner: &str, quoted: bool, out: &mut String) {
    let mut empty = 0;
    let mut first = true;
    let mut lines = inner.split('\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let line = match (first, last && quoted) {
            (true, _) => line.trim_end_matches(' '),
            (false, true) => line.trim_start_matches(' '),
            (false, false) => line.trim_matches(' '),
        };
        if line.is_empty() && !first {
            empty += 1;
            continue;
        }
        if !first {
            if empty == 0 {
                out.push(' ');
            }
            out.extend(std::iter::repeat_n('\n', empty));
        }
        out.push_str(line);
        empty = 0;
        first = false;
    }
}
