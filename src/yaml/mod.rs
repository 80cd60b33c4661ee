//! The only module that knows the YAML parser. It turns a file's text into documents
//! of spanned nodes (byte ranges into the file), keeping each scalar's raw style so
//! that Kubernetes' YAML 1.1 typing can be decided from the text, and reports parse
//! errors, duplicate keys and resource limits as data for the caller to diagnose. Two
//! parsers build the tree through one `Builder`: `block`, meshlint's own for the
//! block-style subset of YAML, is tried first; saphyr's reads whatever it declines.
//!
//! Aliases are never expanded: an alias node points at its anchor, so an alias bomb
//! costs one node per alias. Nesting is bounded so that no later recursive walk can
//! exhaust the stack.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

mod block;

/// Index of a node within its document.
pub type NodeId = u32;

/// Documents nested deeper than this are rejected (Kubernetes objects rarely pass 20).
pub const MAX_DEPTH: usize = 256;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl Style {
    #[must_use]
    pub fn is_quoted(self) -> bool {
        matches!(self, Style::SingleQuoted | Style::DoubleQuoted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Scalar {
        /// Byte range of the value in the document's string arena.
        value: (u32, u32),
        style: Style,
        /// The tag suffix when one was written (`!!str` gives `str`): 1 + its index in
        /// the document's tag list, or 0 for none. A number, not a string, keeps every
        /// node at 24 bytes.
        tag: u32,
    },
    Seq {
        /// Range of the items in the document's `children`.
        first: u32,
        len: u32,
        /// Written as `[...]`.
        flow: bool,
    },
    Map {
        /// Range of the entries in the document's `children`, as key, value, key, ...
        first: u32,
        len: u32,
        /// Written as `{...}`.
        flow: bool,
    },
    /// An alias; the id is the anchored node it refers to.
    Alias(NodeId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Byte range in the file. For a block collection it runs from its first content to
    /// the end of its last scalar.
    pub start: u32,
    pub end: u32,
}

impl Node {
    #[must_use]
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One YAML document of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    nodes: Vec<Node>,
    /// Children of every collection, back to back (see `NodeKind`).
    children: Vec<NodeId>,
    strings: String,
    /// The tags written on scalars, in order (see `NodeKind::Scalar`).
    tags: Vec<Box<str>>,
    root: NodeId,
    /// Some mapping key starts with `$` (as Kubernetes' patch directives do).
    dollar_key: bool,
    /// Byte range of the document, from its `---` (or first content) to its end.
    pub start: u32,
    pub end: u32,
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// A problem found while reading a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    /// Byte offset at which the parser stopped.
    pub offset: usize,
    /// The same offset in the re-indented copy that was parsed.
    patched_offset: usize,
    /// Where the broken document starts in that copy.
    document_start: usize,
}

/// Everything parsed from one file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub errors: Vec<YamlError>,
    pub duplicates: Vec<DuplicateKey>,
}

/// The block-subset parser alone: `None` when the text is outside its subset. Public for
/// the tests that hold the two parsers to the same trees.
#[doc(hidden)]
#[must_use]
pub fn parse_block_subset(text: &str) -> Option<Stream> {
    block::parse(text)
}

/// Parse a whole stream. A syntax error ends the document it is in; parsing resumes at
/// the next `---` line, so one broken document does not hide the rest of the file.
///
/// The parser is stricter than Kubernetes' about one layout: a closing `]`, `}` or quote
/// of a multi-line flow collection or quoted scalar written at its key's indentation.
/// Such lines are re-indented in a scratch copy and parsed again; positions are mapped
/// back to the original text, which is never changed.
///
/// A stream whose first content is a flow collection at the start of a line (a JSON
/// file) is parsed as if an explicit `--- ` came before it. Without the marker the
/// parser keeps the whole collection's tokens in memory until it closes, because a
/// collection at the start of a line could be a mapping key (`[a, b]: c`); after `---`
/// on the same line it cannot be, and tokens flow out as they are read. The parsed tree
/// is the same; positions are mapped back as for the re-indented lines. Should that
/// parse meet any error (the collection may have been a key after all, `{a: 1}: b`), the
/// stream is parsed again without the marker, so that errors are those of the text as
/// written.
#[must_use]
pub fn parse_stream(text: &str) -> Stream {
    if let Some(stream) = block::parse(text) {
        return stream;
    }
    parse_general(text)
}

/// `parse_stream` without the block-subset parser (`block`): the general parser alone.
/// Public for the tests that hold the two to the same trees.
#[doc(hidden)]
#[must_use]
pub fn parse_general(text: &str) -> Stream {
    if let Some(at) = root_flow_collection(text) {
        let stream = parse_patched(text, Some(at));
        if stream.errors.is_empty() {
            return stream;
        }
    }
    parse_patched(text, None)
}

/// `parse_stream`, with the document marker put at `marker` when given.
fn parse_patched(text: &str, marker: Option<usize>) -> Stream {
    let mut patched = std::borrow::Cow::Borrowed(text);
    let mut insertions: Vec<(usize, usize)> = Vec::new();
    if let Some(at) = marker {
        let mut owned = String::with_capacity(text.len() + DOCUMENT_MARKER.len());
        owned.push_str(&text[..at]);
        owned.push_str(DOCUMENT_MARKER);
        owned.push_str(&text[at..]);
        patched = std::borrow::Cow::Owned(owned);
        insertions.push((at, DOCUMENT_MARKER.len()));
    }
    for _ in 0..8 {
        let stream = parse_all(&patched, &insertions);
        let fix = stream
            .errors
            .iter()
            .find(|e| e.message.contains("indentation"))
            .and_then(|e| dedented_closer(&patched, e.patched_offset));
        let Some((at, spaces)) = fix else {
            return stream;
        };
        let mut owned = patched.into_owned();
        owned.insert_str(at, &" ".repeat(spaces));
        patched = std::borrow::Cow::Owned(owned);
        insertions.push((at, spaces));
        insertions.sort_unstable();
    }
    parse_all(&patched, &insertions)
}

/// The marker put before a stream's root flow collection (see `parse_stream`).
const DOCUMENT_MARKER: &str = "--- ";

/// Offset of the first content of `text` when it is a `{` or `[` at the start of a line,
/// after nothing but blank and comment lines.
fn root_flow_collection(text: &str) -> Option<usize> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_start_matches([' ', '\t', '\r', '\n']);
        if content.is_empty() || content.starts_with('#') {
            at += line.len();
            continue;
        }
        return (line.starts_with('{') || line.starts_with('[')).then_some(at);
    }
    None
}

/// For an indentation error at `offset`: the start of a closing line (`]`, `}`) written
/// at or left of the indentation of the line that opened its collection or scalar, and
/// how many spaces make it valid.
fn dedented_closer(text: &str, offset: usize) -> Option<(usize, usize)> {
    let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |b: usize| starts.partition_point(|&s| s <= b) - 1;
    // A line without its break. (With the break, `e` for `e - 1`, the answers are the
    // same: the opener is read after `trim_end`, a closer by its start.)
    let line = |i: usize| {
        let end = starts.get(i + 1).map_or(text.len(), |&e| e - 1);
        text[starts[i]..end].trim_end_matches('\r')
    };
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let err_line = line_of(offset.min(text.len()));
    let opener = (err_line.saturating_sub(200)..=err_line).rev().find(|&i| {
        let t = line(i).trim_end();
        // A flow collection, or a quoted scalar (`'[`, `"{`), left open at the line's end.
        t.ends_with('[') || t.ends_with('{')
    })?;
    let k = indent(line(opener));
    // From the line after the opener. (From the opener itself the answer differs only
    // when the opener line starts with a closer, `}, {`: that line is re-indented
    // first, harmlessly, and the next pass finds the same closer.)
    (opener + 1..starts.len().min(opener + 2000)).find_map(|i| {
        let l = line(i);
        let t = l.trim_start_matches(' ');
        let n = indent(l);
        // Two columns past the opener's indentation. (Any indentation past it gives the
        // same tree, `k + 2 + n` spaces as well: flow content and the continuation lines
        // of a quoted scalar drop their leading spaces, and positions are mapped back.)
        (n <= k && (t.starts_with(']') || t.starts_with('}'))).then(|| (starts[i], k + 2 - n))
    })
}

/// Parse every document of `text` (a possibly patched copy of the file).
fn parse_all(text: &str, insertions: &[(usize, usize)]) -> Stream {
    let mut out = Stream::default();
    let mut base = 0;
    loop {
        match parse_chunk(&text[base..], base, insertions, &mut out) {
            Ok(()) => break,
            Err(err) => {
                // Resume at the first `---` after the start of the broken document.
                let next = next_document_marker(text, err.document_start);
                out.errors.push(err);
                // `next > base` always holds (a document starts at or after `base`, and
                // the marker is on a later line): the guard only keeps a loop impossible.
                match next {
                    Some(next) if next > base => base = next,
                    _ => break,
                }
            }
        }
        if base >= text.len() {
            break;
        }
    }
    out
}

/// Offset of the first line after `offset` that starts with `---` (a document marker).
fn next_document_marker(text: &str, offset: usize) -> Option<usize> {
    // The start of the next line. (Its line break instead, `+ offset * 1`, gives the same
    // answer: no marker starts at a line break, and the loop steps past it; `pos <= len`
    // too: at the end, `rest` is empty and has no line break.)
    let mut pos = text[offset.min(text.len())..].find('\n')? + offset + 1;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("---")
            && rest[3..].chars().next().is_none_or(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
        {
            return Some(pos);
        }
        pos += rest.find('\n')? + 1;
    }
    None
}

/// Maps the parser's character indices to byte offsets in the file. The parser's
/// positions move forward almost always, so a cursor walks the text once; ASCII text
/// needs no walk at all.
struct Offsets<'i> {
    chunk: &'i str,
    base: usize,
    ascii: bool,
    /// (character index, byte offset) of the last lookup.
    cursor: std::cell::Cell<(usize, usize)>,
    /// Spaces inserted into the parsed copy: (offset in the copy, count), sorted.
    insertions: &'i [(usize, usize)],
}

impl<'i> Offsets<'i> {
    fn new(chunk: &'i str, base: usize, insertions: &'i [(usize, usize)]) -> Self {
        Self { chunk, base, ascii: chunk.is_ascii(), cursor: std::cell::Cell::new((0, 0)), insertions }
    }

    fn local(&self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.chunk.len());
        }
        let (c, b) = self.cursor.get();
        let byte = if char_index >= c {
            let rest = &self.chunk[b..];
            b + rest.char_indices().nth(char_index - c).map_or(rest.len(), |(i, _)| i)
        } else {
            // Walk back from the cursor: lookups step back only a little.
            self.chunk[..b].char_indices().nth_back(c - char_index - 1).map_or(0, |(i, _)| i)
        };
        self.cursor.set((char_index, byte));
        byte
    }

    /// Bytes of the chunk read up to `byte`, an offset in the original file (a measure of
    /// progress only).
    fn read(&self, byte: usize) -> usize {
        byte.saturating_sub(self.base).min(self.chunk.len())
    }

    /// Byte offset in the parsed copy.
    fn patched(&self, char_index: usize) -> usize {
        self.base + self.local(char_index)
    }

    /// Byte offset in the original file.
    fn byte(&self, char_index: usize) -> usize {
        self.unpatch(self.patched(char_index))
    }

    /// The original offset of an offset in the parsed copy.
    fn unpatch(&self, patched: usize) -> usize {
        let mut shift = 0;
        for &(at, n) in self.insertions {
            if at + n <= patched {
                shift += n;
            } else if at < patched {
                // Inside the inserted spaces: back to where they were put in. (`at <=
                // patched` would do the same: at `at` the shift is 0.)
                shift += patched - at;
            }
        }
        patched - shift
    }
}

/// The contents of a document's buffer, in an allocation of exactly their size, leaving
/// the buffer empty for the next document. Documents of a stream are kept for the whole
/// run, so the doubling slack of a growing vector would stay too. A small buffer keeps its
/// capacity for the next document; a large one is handed over and shrunk in place.
fn exact<T: Copy>(buffer: &mut Vec<T>) -> Vec<T> {
    if buffer.capacity() * std::mem::size_of::<T>() > LARGE_BUFFER {
        let mut taken = std::mem::take(buffer);
        taken.shrink_to_fit();
        taken
    } else {
        let copy = buffer.clone();
        buffer.clear();
        copy
    }
}

fn exact_string(buffer: &mut String) -> String {
    if buffer.capacity() > LARGE_BUFFER {
        let mut taken = std::mem::take(buffer);
        taken.shrink_to_fit();
        taken
    } else {
        let copy = buffer.as_str().to_owned();
        buffer.clear();
        copy
    }
}

/// Make room for `more` items in `buffer`, filled in proportion to the text read: `read`
/// bytes of `total` so far. A buffer that has grown large is given the room that the
/// rest of the text will need at the same rate (and a tenth more), not twice its size:
/// every doubling of a large buffer copies it, and the old copy stays resident for a
/// while after it is freed.
fn reserve_ahead<T>(buffer: &mut Vec<T>, more: usize, read: usize, total: usize) {
    let len = buffer.len();
    if len + more <= buffer.capacity() {
        return;
    }
    if len * std::mem::size_of::<T>() < LARGE_BUFFER || read == 0 {
        buffer.reserve(more);
        return;
    }
    let expected = (len as u128 * total as u128 / read as u128) as usize;
    let room = (expected + expected / 10).saturating_sub(len).max(len / 8).max(more);
    buffer.reserve_exact(room);
}

/// Above this many bytes a document buffer is shrunk rather than copied (see `exact`).
const LARGE_BUFFER: usize = 1 << 20;

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A collection being read: its children so far sit at `scratch[mark..]`.
struct Open {
    id: NodeId,
    mark: usize,
    map: bool,
    flow: bool,
    anchor: usize,
}

struct Builder<'a> {
    offsets: &'a Offsets<'a>,
    nodes: Vec<Node>,
    children: Vec<NodeId>,
    /// Children of the open collections, innermost last.
    scratch: Vec<NodeId>,
    /// Every scalar value of the document, back to back.
    strings: String,
    tags: Vec<Box<str>>,
    stack: Vec<Open>,
    anchors: HashMap<usize, NodeId>,
    root: Option<NodeId>,
    doc_start: usize,
    dollar_key: bool,
}

impl<'a> Builder<'a> {
    fn new(offsets: &'a Offsets<'a>) -> Self {
        Builder {
            offsets,
            nodes: Vec::new(),
            children: Vec::new(),
            scratch: Vec::new(),
            strings: String::new(),
            tags: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            doc_start: offsets.base,
            dollar_key: false,
        }
    }

    fn begin_document(&mut self, start: usize) {
        self.nodes.clear();
        self.children.clear();
        self.scratch.clear();
        self.strings.clear();
        self.tags.clear();
        self.anchors.clear();
        self.root = None;
        self.doc_start = start;
        self.dollar_key = false;
    }

    /// End the document at `end` (the end of its `---`, `...` or of the stream).
    fn end_document(&mut self, end: usize, out: &mut Stream) {
        if let Some(root) = self.root.take() {
            let nodes = exact(&mut self.nodes);
            let children = exact(&mut self.children);
            let strings = exact_string(&mut self.strings);
            let tags = std::mem::take(&mut self.tags);
            let end = end.max(nodes[root as usize].end as usize);
            let (start, end) = (to_u32(self.doc_start), to_u32(end));
            let dollar_key = self.dollar_key;
            out.documents.push(Document { nodes, children, strings, tags, root, dollar_key, start, end });
        }
    }

    /// A scalar from `start` to `end` in the file (`end` after the closing quote of a
    /// quoted one).
    fn scalar(&mut self, value: &str, style: Style, tag: Option<&str>, anchor: usize, start: usize, end: usize) {
        let from = to_u32(self.strings.len());
        self.strings.push_str(value);
        let kind = NodeKind::Scalar {
            value: (from, to_u32(self.strings.len())),
            style,
            tag: tag.map_or(0, |t| {
                self.tags.push(t.into());
                to_u32(self.tags.len())
            }),
        };
        let id = self.push_node(kind, start, end);
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        self.attach(id);
    }

    /// Open a collection whose start token runs from `start` to `end`: empty for a
    /// block collection, the bracket of a flow one.
    fn open(&mut self, map: bool, anchor: usize, start: usize, end: usize) {
        let flow = end > start;
        let id = self.push_node(NodeKind::Seq { first: 0, len: 0, flow }, start, end);
        self.stack.push(Open { id, mark: self.scratch.len(), map, flow, anchor });
    }

    /// Close the innermost collection; `end` is the end of its closing token (only a
    /// flow collection's, its bracket, counts).
    fn end_collection(&mut self, end: usize, dups: &mut Vec<DuplicateKey>) {
        if let Some(Open { id, flow: true, .. }) = self.stack.last() {
            let id = *id as usize;
            self.nodes[id].end = self.nodes[id].end.max(to_u32(end));
        }
        self.close(dups);
    }

    fn push_node(&mut self, kind: NodeKind, start: usize, end: usize) -> NodeId {
        let id = to_u32(self.nodes.len());
        let read = self.offsets.read(start);
        reserve_ahead(&mut self.nodes, 1, read, self.offsets.chunk.len());
        self.nodes.push(Node { kind, start: to_u32(start), end: to_u32(end) });
        id
    }

    /// Attach a finished node to its parent (or make it the root).
    fn attach(&mut self, id: NodeId) {
        if self.stack.is_empty() {
            self.root = Some(id);
        } else {
            self.scratch.push(id);
        }
    }

    fn close(&mut self, dups: &mut Vec<DuplicateKey>) {
        let Some(open) = self.stack.pop() else { return };
        let mut end = None;
        if let Some(&last) = self.scratch[open.mark..].last() {
            end = Some(self.nodes[last as usize].end);
        }
        let first = to_u32(self.children.len());
        // A mapping left with a key and no value (an error the parser reports) keeps
        // whole pairs only. (A guard: the parser ends a mapping only after a value, an
        // empty one at least, so `count % 2` is 0 and `+=` would do the same.)
        let mut count = self.scratch.len() - open.mark;
        if open.map {
            count -= count % 2;
            let strings = self.strings.as_bytes();
            // (An alias as a key may stand for such a scalar: counted too.)
            self.dollar_key |= self.scratch[open.mark..open.mark + count].iter().step_by(2).any(|&k| {
                match self.nodes[k as usize].kind {
                    NodeKind::Scalar { value: (from, to), .. } => from < to && strings[from as usize] == b'$',
                    NodeKind::Alias(_) => true,
                    _ => false,
                }
            });
            if count >= 4 {
                self.find_duplicates(&self.scratch[open.mark..open.mark + count], dups);
            }
        }
        if let Some(end) = end {
            let read = self.offsets.read(end as usize);
            reserve_ahead(&mut self.children, count, read, self.offsets.chunk.len());
        }
        self.children.extend_from_slice(&self.scratch[open.mark..open.mark + count]);
        self.scratch.truncate(open.mark);
        let len = to_u32(if open.map { count / 2 } else { count });
        let kind = if open.map {
            NodeKind::Map { first, len, flow: open.flow }
        } else {
            NodeKind::Seq { first, len, flow: open.flow }
        };
        let node = &mut self.nodes[open.id as usize];
        if let Some(end) = end {
            node.end = node.end.max(end);
        }
        node.kind = kind;
        if open.anchor != 0 {
            self.anchors.insert(open.anchor, open.id);
        }
        self.attach(open.id);
    }

    /// Report keys written twice. `pairs` is key, value, key, value...
    fn find_duplicates(&self, pairs: &[NodeId], dups: &mut Vec<DuplicateKey>) {
        let key_of = |k: NodeId| match &self.nodes[k as usize].kind {
            NodeKind::Scalar { value, .. } => Some(&self.strings[value.0 as usize..value.1 as usize]),
            _ => None,
        };
        let keys = || pairs.iter().step_by(2).filter_map(|&k| Some((k, key_of(k)?))).filter(|(_, t)| *t != "<<");
        let mut report = |first: NodeId, second: NodeId, text: &str| {
            dups.push(DuplicateKey {
                key: text.to_owned(),
                first: self.nodes[first as usize].span(),
                second: self.nodes[second as usize].span(),
            });
        };
        // Both ways report the same pairs in the same order (each later key with the
        // first of its text); they differ in cost only.
        if pairs.len() <= 32 {
            // Small mappings (nearly all): compare pairwise, no allocation, no hashing.
            for (i, (k, text)) in keys().enumerate() {
                if let Some((first, _)) = keys().take(i).find(|(_, t)| *t == text) {
                    report(first, k, text);
                }
            }
            return;
        }
        let mut seen: HashMap<&str, NodeId> = HashMap::with_capacity(pairs.len() / 2);
        for (k, text) in keys() {
            if let Some(&first) = seen.get(text) {
                report(first, k, text);
            } else {
                seen.insert(text, k);
            }
        }
    }
}

/// The offset just after the quote that closes the quoted scalar starting at `start`
/// (after its anchor or tag, if any).
fn closing_quote(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let open = rest.find(['"', '\''])?;
    let quote = rest.as_bytes()[open];
    let bytes = &rest.as_bytes()[open + 1..];
    let mut i = 0;
    // The parser has read the scalar, so its closing quote is there: the loop returns
    // before `i` reaches the end (`i <= len` would do the same).
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(start + open + 1 + i + 1),
            _ => i += 1,
        }
    }
    None
}

fn style_of(style: ScalarStyle) -> Style {
    match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
    }
}

fn scan_error(err: &ScanError, offsets: &Offsets<'_>) -> YamlError {
    let index = err.marker().index();
    YamlError {
        message: err.info().to_owned(),
        offset: offsets.byte(index),
        patched_offset: offsets.patched(index),
        document_start: 0,
    }
}

/// Parse `chunk` (which starts at byte `base` of the file) into `out`.
fn parse_chunk(chunk: &str, base: usize, insertions: &[(usize, usize)], out: &mut Stream) -> Result<(), YamlError> {
    let offsets = Offsets::new(chunk, base, insertions);
    let mut parser = Parser::new_from_str(chunk);
    let mut b = Builder::new(&offsets);
    let mut doc_start = base;
    loop {
        let Some(next) = parser.next_event() else {
            return Ok(());
        };
        let result = next.map_err(|e| scan_error(&e, &offsets)).and_then(|(event, span)| {
            if matches!(event, Event::DocumentStart(_)) {
                doc_start = offsets.patched(span.start.index());
            }
            handle_event(&mut b, event, span, out)
        });
        result.map_err(|e| YamlError { document_start: doc_start, ..e })?;
    }
}

fn handle_event(b: &mut Builder<'_>, event: Event<'_>, span: Span, out: &mut Stream) -> Result<(), YamlError> {
    let start = b.offsets.byte(span.start.index());
    let end = b.offsets.byte(span.end.index());
    match event {
        Event::DocumentStart(_) => b.begin_document(start),
        Event::DocumentEnd => b.end_document(end, out),
        Event::Scalar(value, style, anchor, tag) => {
            // The parser ends a quoted scalar at the next token; end it at its quote.
            let end = match style {
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                    let local = b.offsets.patched(span.start.index()) - b.offsets.base;
                    closing_quote(b.offsets.chunk, local).map_or(end, |e| b.offsets.unpatch(b.offsets.base + e))
                }
                _ => end,
            };
            b.scalar(&value, style_of(style), tag.as_ref().map(|t| t.suffix.as_str()), anchor, start, end);
        }
        Event::Alias(anchor) => {
            let Some(&target) = b.anchors.get(&anchor) else {
                let patched = b.offsets.patched(span.start.index());
                return Err(YamlError {
                    message: "alias to an unknown anchor".into(),
                    offset: start,
                    patched_offset: patched,
                    document_start: 0,
                });
            };
            let id = b.push_node(NodeKind::Alias(target), start, end);
            b.attach(id);
        }
        Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
            if b.stack.len() >= MAX_DEPTH {
                return Err(YamlError {
                    message: format!("document is nested deeper than {MAX_DEPTH} levels"),
                    offset: start,
                    patched_offset: b.offsets.patched(span.start.index()),
                    document_start: 0,
                });
            }
            b.open(matches!(event, Event::MappingStart(..)), anchor, start, end);
        }
        Event::SequenceEnd | Event::MappingEnd => b.end_collection(end, &mut out.duplicates),
        Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
    }
    Ok(())
}

impl Document {
    #[must_use]
    pub fn root(&self) -> NodeRef<'_> {
        self.node(self.root)
    }

    #[must_use]
    pub fn node(&self, id: NodeId) -> NodeRef<'_> {
        NodeRef { doc: self, id }.resolved()
    }

    #[must_use]
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The key, value, key, value... ids of a mapping (empty for anything else).
    fn pairs(&self, node: &Node) -> &[NodeId] {
        match node.kind {
            NodeKind::Map { first, len, .. } => &self.children[first as usize..(first + 2 * len) as usize],
            _ => &[],
        }
    }

    /// Whether a mapping key of the document starts with `$`.
    #[must_use]
    pub fn has_dollar_key(&self) -> bool {
        self.dollar_key
    }

    fn tag(&self, tag: u32) -> Option<&str> {
        let i = tag.checked_sub(1)?;
        self.tags.get(i as usize).map(AsRef::as_ref)
    }

    /// Number of nodes, aliases counted once.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// A node together with its document, for navigation.
#[derive(Clone, Copy)]
pub struct NodeRef<'d> {
    doc: &'d Document,
    id: NodeId,
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeRef({}, {:?})", self.id, self.span())
    }
}

impl<'d> NodeRef<'d> {
    fn raw(&self) -> &'d Node {
        &self.doc.nodes[self.id as usize]
    }

    /// Follow an alias to its anchor.
    fn resolved(self) -> Self {
        match self.raw().kind {
            NodeKind::Alias(target) => NodeRef { doc: self.doc, id: target },
            _ => self,
        }
    }

    #[must_use]
    pub fn id(&self) -> NodeId {
        self.id
    }

    #[must_use]
    pub fn document(&self) -> &'d Document {
        self.doc
    }

    #[must_use]
    pub fn span(&self) -> Range<usize> {
        self.raw().span()
    }

    #[must_use]
    pub fn kind(&self) -> &'d NodeKind {
        &self.raw().kind
    }

    /// The scalar's value, whatever its YAML type.
    #[must_use]
    pub fn scalar(&self) -> Option<&'d str> {
        match &self.raw().kind {
            NodeKind::Scalar { value, .. } => Some(&self.doc.strings[value.0 as usize..value.1 as usize]),
            _ => None,
        }
    }

    #[must_use]
    pub fn style(&self) -> Option<Style> {
        match &self.raw().kind {
            NodeKind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// The scalar's value when Kubernetes reads it as a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&'d str> {
        let value = self.scalar()?;
        (self.k8s_type() == Some(ScalarType::Str)).then_some(value)
    }

    /// The scalar's value when Kubernetes reads it as an integer.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        if self.k8s_type() != Some(ScalarType::Int) {
            return None;
        }
        parse_int(self.scalar()?)
    }

    /// The scalar's value when Kubernetes reads it as a boolean.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        if self.k8s_type() != Some(ScalarType::Bool) {
            return None;
        }
        let v = self.scalar()?.to_ascii_lowercase();
        Some(matches!(v.as_str(), "y" | "yes" | "true" | "on"))
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        self.k8s_type() == Some(ScalarType::Null)
    }

    /// How Kubernetes (YAML 1.1, as `sigs.k8s.io/yaml` reads it) types this scalar.
    #[must_use]
    pub fn k8s_type(&self) -> Option<ScalarType> {
        match &self.raw().kind {
            NodeKind::Scalar { style, tag, .. } => Some(match self.doc.tag(*tag) {
                Some("str") => ScalarType::Str,
                Some("bool") => ScalarType::Bool,
                Some("int") => ScalarType::Int,
                Some("float") => ScalarType::Float,
                Some("null") => ScalarType::Null,
                _ if *style == Style::Plain => resolve_plain(self.scalar().unwrap_or("")),
                _ => ScalarType::Str,
            }),
            _ => None,
        }
    }

    #[must_use]
    pub fn is_map(&self) -> bool {
        matches!(self.raw().kind, NodeKind::Map { .. })
    }

    #[must_use]
    pub fn is_seq(&self) -> bool {
        matches!(self.raw().kind, NodeKind::Seq { .. })
    }

    /// Whether the collection was written in flow style (`[..]`, `{..}`).
    #[must_use]
    pub fn is_flow(&self) -> bool {
        matches!(self.raw().kind, NodeKind::Seq { flow: true, .. } | NodeKind::Map { flow: true, .. })
    }

    /// The entries of a mapping (key, value), aliases resolved.
    pub fn entries(self) -> impl Iterator<Item = (NodeRef<'d>, NodeRef<'d>)> + 'd {
        let doc = self.doc;
        doc.pairs(self.raw()).chunks_exact(2).map(move |kv| (doc.node(kv[0]), doc.node(kv[1])))
    }

    /// The items of a sequence, aliases resolved.
    pub fn items(self) -> impl Iterator<Item = NodeRef<'d>> + 'd {
        let doc = self.doc;
        let items: &'d [NodeId] = match self.raw().kind {
            NodeKind::Seq { first, len, .. } => &doc.children[first as usize..(first + len) as usize],
            _ => &[],
        };
        items.iter().map(move |&i| doc.node(i))
    }

    /// The value of a mapping key (the last one when a key repeats, as Kubernetes keeps).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<NodeRef<'d>> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// The key node and value of a mapping key (the last one when a key repeats).
    #[must_use]
    pub fn get_entry(&self, key: &str) -> Option<(NodeRef<'d>, NodeRef<'d>)> {
        let doc = self.doc;
        let pairs = doc.pairs(self.raw());
        // The hot path of every rule: compare lengths before text, resolve no alias
        // unless a key is one.
        let matches = |k: NodeId| {
            let node = match doc.nodes[k as usize].kind {
                NodeKind::Alias(target) => &doc.nodes[target as usize],
                _ => &doc.nodes[k as usize],
            };
            match node.kind {
                NodeKind::Scalar { value: (from, to), .. } => {
                    (to - from) as usize == key.len() && &doc.strings[from as usize..to as usize] == key
                }
                _ => false,
            }
        };
        pairs.chunks_exact(2).rev().find(|kv| matches(kv[0])).map(|kv| (doc.node(kv[0]), doc.node(kv[1])))
    }

    /// This node and every node below it, each node once (an alias's target is visited
    /// once however many aliases point at it), so that alias bombs stay linear.
    #[must_use]
    pub fn descendants(&self) -> Vec<NodeRef<'d>> {
        let mut seen = vec![false; self.doc.nodes.len()];
        let mut out = Vec::new();
        let mut stack = vec![*self];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.id as usize], true) {
                continue;
            }
            out.push(n);
            for (k, v) in n.entries() {
                stack.push(v);
                stack.push(k);
            }
            stack.extend(n.items());
        }
        out
    }

    /// Follow a path of mapping keys.
    #[must_use]
    pub fn path(&self, keys: &[&str]) -> Option<NodeRef<'d>> {
        keys.iter().try_fold(*self, |node, key| node.get(key))
    }
}

/// A scalar's type as Kubernetes decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Str,
    Bool,
    Int,
    Float,
    Null,
}

/// YAML 1.1 resolution of a plain scalar, as go-yaml v2 (behind `sigs.k8s.io/yaml`) does.
#[must_use]
pub fn resolve_plain(value: &str) -> ScalarType {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarType::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True" | "TRUE" | "false"
        | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            return ScalarType::Bool;
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => return ScalarType::Float,
        _ => {}
    }
    let first = value.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return ScalarType::Str;
    }
    if parse_int(value).is_some() {
        ScalarType::Int
    } else if is_float(value) {
        ScalarType::Float
    } else {
        ScalarType::Str
    }
}

/// Integer in YAML 1.1 notation (`0x1F`, `0o17`/`017`, `0b101`, `1_000`, `+5`).
fn parse_int(value: &str) -> Option<i64> {
    let owned;
    let plain = if value.contains('_') {
        owned = value.replace('_', "");
        owned.as_str()
    } else {
        value
    };
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain),
    };
    if digits.is_empty() {
        return None;
    }
    let n = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -n } else { n })
}

fn is_float(value: &str) -> bool {
    let plain: String = value.chars().filter(|&c| c != '_').collect();
    let body = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = mantissa.bytes().filter(|&b| b == b'.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse_stream`, checked against the general parser alone: these tests hold both
    /// parsers to them (the subset parser declines what it does not read).
    fn both(text: &str) -> Stream {
        let general = parse_general(text);
        let stream = parse_stream(text);
        assert_eq!(stream, general, "{text:?}");
        general
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "a: 1\nb:\n  c: \"x\"\n";
        let s = both(text);
        assert!(s.errors.is_empty());
        let root = s.documents[0].root();
        let (k, v) = root.path(&["b"]).unwrap().get_entry("c").unwrap();
        assert_eq!(&text[k.span()], "c");
        assert_eq!(&text[v.span()], "\"x\"");
        assert_eq!(v.as_str(), Some("x"));
    }

    #[test]
    fn quoted_scalars_end_at_their_quote() {
        let text = "a: \"x\\\" y\"  # c\nb: 'it''s'   # d\n";
        let s = both(text);
        let root = s.documents[0].root();
        assert_eq!(&text[root.get("a").unwrap().span()], "\"x\\\" y\"");
        assert_eq!(&text[root.get("b").unwrap().span()], "'it''s'");
        // A backslash is no escape in single quotes; `''` anywhere; after a tag or an
        // anchor; in a document after a broken one (the chunk then starts past 0).
        let text = "a: [\n---\nc: 'C:\\'  # e\nd: 'x''yz'  # f\ne: !!str 'q'  # g\nf: &h \"r\"  # i\n";
        let s = both(text);
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        let root = s.documents[0].root();
        let spans: Vec<&str> = ["c", "d", "e", "f"].iter().map(|k| &text[root.get(k).unwrap().span()]).collect();
        assert_eq!(spans, ["'C:\\'", "'x''yz'", "!!str 'q'", "&h \"r\""]);
    }

    #[test]
    fn quoted_scalars_after_non_ascii_text_have_byte_spans() {
        let text = "a: \"é\"\nb: 'ü' # ö\nc: \"ok\"\n";
        let s = both(text);
        let root = s.documents[0].root();
        assert_eq!(&text[root.get("a").unwrap().span()], "\"é\"");
        assert_eq!(&text[root.get("b").unwrap().span()], "'ü'");
        assert_eq!(&text[root.get("c").unwrap().span()], "\"ok\"");
    }

    #[test]
    fn non_ascii_offsets_are_bytes() {
        let text = "a: \"héllo wörld\"\nb: ok\n";
        let s = both(text);
        let v = s.documents[0].root().get("b").unwrap();
        assert_eq!(&text[v.span()], "ok");
    }

    #[test]
    fn yaml_11_types() {
        for (v, t) in [
            ("yes", ScalarType::Bool),
            ("On", ScalarType::Bool),
            ("y", ScalarType::Bool),
            ("0644", ScalarType::Int),
            ("1e3", ScalarType::Float),
            ("1.5", ScalarType::Float),
            ("~", ScalarType::Null),
            ("enabled", ScalarType::Str),
            ("1.2.3", ScalarType::Str),
            ("-", ScalarType::Str),
            (".inf", ScalarType::Float),
            ("-.Inf", ScalarType::Float),
            (".NaN", ScalarType::Float),
            ("-5", ScalarType::Int),
            ("+0x1F", ScalarType::Int),
            // An exponent needs digits, and only digits.
            ("1e", ScalarType::Str),
            ("1e5x", ScalarType::Str),
            ("1e-5", ScalarType::Float),
        ] {
            assert_eq!(resolve_plain(v), t, "{v}");
        }
    }

    /// A tag decides the type whatever the text; an unknown tag leaves it to the text.
    #[test]
    fn typed_reads_of_scalars() {
        use ScalarType::{Bool, Float, Int, Null, Str};
        let text = "a: !!str 5\nb: !!int \"5\"\nc: !!bool \"true\"\nd: !!float \"1\"\ne: !!null \"\"\nf: !custom 5\ng: \"5\"\nh: [x]\n";
        let s = both(text);
        let root = s.documents[0].root();
        let types: Vec<Option<ScalarType>> =
            ["a", "b", "c", "d", "e", "f", "g", "h"].iter().map(|k| root.get(k).unwrap().k8s_type()).collect();
        assert_eq!(types, [Some(Str), Some(Int), Some(Bool), Some(Float), Some(Null), Some(Int), Some(Str), None]);
        let text = "a: true\nb: Off\nc: \"true\"\nd: 1\ne: ~\nf:\ng: null\nh: \"\"\ni: -5\nj: 0644\nk: 0\n";
        let s = both(text);
        let root = s.documents[0].root();
        let get = |k: &str| root.get(k).unwrap();
        let bools: Vec<Option<bool>> = ["a", "b", "c", "d"].iter().map(|k| get(k).as_bool()).collect();
        assert_eq!(bools, [Some(true), Some(false), None, None]);
        let nulls: Vec<bool> = ["e", "f", "g", "h", "a"].iter().map(|k| get(k).is_null()).collect();
        assert_eq!(nulls, [true, true, true, false, false]);
        assert_eq!((get("i").as_i64(), get("c").as_i64()), (Some(-5), None));
        // A leading 0 is octal in YAML 1.1; 0 alone is zero.
        assert_eq!((get("j").as_i64(), get("k").as_i64()), (Some(0o644), Some(0)));
    }

    #[test]
    fn a_key_written_as_an_alias_is_found_by_its_text() {
        let s = both("a: &k name\n*k : 5\n");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.documents[0].root().get("name").and_then(|v| v.as_i64()), Some(5));
    }

    #[test]
    fn a_key_starting_with_a_dollar_is_recorded_at_any_depth_and_only_a_key() {
        let dollar = |text: &str| both(text).documents[0].has_dollar_key();
        assert!(!dollar("a: $patch\nb: [$x, {c: $d}]\n"));
        // An empty key is followed in the text arena by its value's `$`.
        assert!(!dollar("\"\": $x\n"));
        assert!(dollar("a:\n  - b: 1\n    $patch: delete\n"));
        assert!(dollar("a: {$setElementOrder/b: []}\n"));
        assert!(dollar("a: 1\n$patch: replace\n"));
        // An alias as a key may stand for one.
        assert!(dollar("a: &k $patch\n*k : delete\n"));
        // Reset for each document.
        let s = both("$patch: delete\n---\na: 1\n");
        assert_eq!(s.documents.iter().map(Document::has_dollar_key).collect::<Vec<_>>(), [true, false]);
    }

    #[test]
    fn closing_bracket_at_key_indentation_is_accepted() {
        let text = "a:\n  args: [\n      \"x\", \"y\",\n  ]\n  b: '[\n    {}\n  ]'\n  c: 1\n";
        let s = both(text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let a = s.documents[0].root().get("a").unwrap();
        assert_eq!(a.get("args").unwrap().items().count(), 2);
        assert_eq!(&text[a.get("c").unwrap().span()], "1");
        assert_eq!(a.get("b").unwrap().scalar(), Some("[ {} ]"));
        // At the root, with the closer on the line right after the opener (which no
        // space begins).
        // A closing line longer than the opener's (its indentation is what counts).
        for text in [
            "args: [\n]\nnext: 1\n",
            "args: [\n] # the end of the list of arguments\nnext: 1\n",
            "args: {\n}\nnext: 1\n",
        ] {
            let s = both(text);
            assert!(s.errors.is_empty(), "{text:?}: {:?}", s.errors);
            assert!(s.documents[0].root().get("args").unwrap().is_flow());
            assert_eq!(&text[s.documents[0].root().get("next").unwrap().span()], "1");
        }
    }

    #[test]
    fn error_in_one_document_keeps_the_next() {
        let text = "a: 1\n---\nb: [\n---\nc: 3\n";
        let s = both(text);
        assert_eq!(s.errors.len(), 1);
        let last = s.documents.last().unwrap().root();
        assert_eq!(last.get("c").and_then(|n| n.as_i64()), Some(3));
    }

    #[test]
    fn aliases_are_not_expanded() {
        use std::fmt::Write;
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in 'b'..='z' {
            let _ = writeln!(text, "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]");
            prev = name;
        }
        let s = both(&text);
        assert!(s.errors.is_empty());
        // The root, `a` with its list of nine, and 25 keys with a list of six aliases.
        assert_eq!(s.documents[0].node_count(), 1 + 11 + 25 * 8);
    }

    #[test]
    fn json_root_keeps_positions_of_the_text() {
        let text = "# list\n\n{\"a\": [1, \"\u{e9}\", {\"b\": 2}],\n \"c\": \"d\"}\n";
        let s = both(text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.documents.len(), 1);
        let doc = &s.documents[0];
        let root = doc.root();
        assert_eq!(&text[root.span()], &text[8..text.len() - 1]);
        assert_eq!(doc.span().start, 8);
        let items: Vec<_> = root.get("a").unwrap().items().collect();
        assert_eq!(&text[items[1].span()], "\"\u{e9}\"");
        assert_eq!(&text[items[2].get("b").unwrap().span()], "2");
        assert_eq!(&text[root.get("c").unwrap().span()], "\"d\"");
    }

    #[test]
    fn a_closer_is_found_past_blank_lines_within_the_fixes_allowed() {
        // Blank lines are no closers: were each taken for one, the eight re-indentations
        // allowed would be spent before the `]`.
        let text = format!("args: [\n  \"a\",\n{}]\nnext: 1\n", "\n".repeat(8));
        let s = both(&text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.documents[0].root().get("args").unwrap().items().count(), 1);
    }

    #[test]
    fn next_document_marker_is_a_line_starting_with_three_dashes() {
        let at = next_document_marker;
        assert_eq!(at("a: 1\n---\nb: 2\n", 0), Some(5));
        // The line holding `offset` is not looked at, whatever it holds, even empty.
        assert_eq!(at("---\na: 1\n---\n", 0), Some(9));
        assert_eq!(at("a: 1\n--- b\n--- c\n", 6), Some(11));
        assert_eq!(at("\n---\n", 0), Some(1));
        // The dashes end with a space, a tab, a line break or the text.
        assert_eq!(at("a\n--- b\n", 0), Some(2));
        assert_eq!(at("a\n---\tb\n", 0), Some(2));
        assert_eq!(at("a\r\n---\r\nb", 0), Some(3));
        assert_eq!(at("a\n---\nb", 0), Some(2));
        assert_eq!(at("a\n---", 0), Some(2));
        // More dashes, other text after them, other text as long, indented: no marker.
        assert_eq!(at("a\n---x\n----\nxyz b\n ---\n", 0), None);
        assert_eq!(at("a: 1", 0), None);
    }

    #[test]
    fn parsing_resumes_at_each_marker_after_a_broken_document() {
        let text = "a: [\n---\nb: 1\n--- {c\n---\nd: 2\n";
        let s = both(text);
        assert_eq!(s.errors.len(), 2, "{:?}", s.errors);
        let keys: Vec<&str> =
            s.documents.iter().map(|d| d.root().entries().next().unwrap().0.scalar().unwrap()).collect();
        assert_eq!(keys, ["b", "d"]);
    }

    #[test]
    fn offsets_map_the_parsed_copy_back_to_the_file() {
        // Two spaces inserted at 10 of a copy of a chunk starting at 100: a position inside
        // them is where they were put in.
        let chunk = "x".repeat(50);
        let insertions = [(110, 2)];
        let offsets = Offsets::new(&chunk, 100, &insertions);
        let back: Vec<usize> = [109, 110, 111, 112, 115].into_iter().map(|p| offsets.unpatch(p)).collect();
        assert_eq!(back, [109, 110, 110, 110, 113]);
        // Progress through the chunk, in bytes of it.
        assert_eq!([50, 100, 120, 1000].map(|b| offsets.read(b)), [0, 0, 20, 50]);
    }

    /// A document's buffers are kept for the whole run: what `exact` hands over has no
    /// slack, a small buffer keeps its room for the next document, a large one is given
    /// away.
    #[test]
    fn exact_copies_a_small_buffer_and_hands_over_a_large_one() {
        let small: Vec<u32> = Vec::with_capacity(LARGE_BUFFER / 4);
        let large: Vec<u32> = Vec::with_capacity(LARGE_BUFFER / 4 + 1);
        for (mut buffer, kept) in [(small, LARGE_BUFFER / 4), (large, 0)] {
            buffer.extend([1, 2, 3]);
            let out = exact(&mut buffer);
            assert_eq!((out.as_slice(), out.capacity()), ([1, 2, 3].as_slice(), 3));
            assert_eq!((buffer.len(), buffer.capacity()), (0, kept));
        }
        let small = String::with_capacity(LARGE_BUFFER);
        let large = String::with_capacity(LARGE_BUFFER + 1);
        for (mut buffer, kept) in [(small, LARGE_BUFFER), (large, 0)] {
            buffer.push_str("abc");
            let out = exact_string(&mut buffer);
            assert_eq!((out.as_str(), out.capacity()), ("abc", 3));
            assert_eq!((buffer.len(), buffer.capacity()), (0, kept));
        }
    }

    /// A large buffer grows to what the rest of the text will need at the rate so far,
    /// plus a tenth (an eighth more at least); a small one, or one with nothing read yet,
    /// as a vector does. There is always room for what is asked.
    #[test]
    fn reserve_ahead_sizes_a_large_buffer_from_the_text_read() {
        let grown = |len: usize, more: usize, read: usize, total: usize| {
            // Full: as long as its capacity.
            let mut buffer: Vec<u32> = vec![0; len];
            reserve_ahead(&mut buffer, more, read, total);
            assert!(buffer.capacity() >= len + more, "{len} + {more}: {}", buffer.capacity());
            buffer.capacity()
        };
        let large = 500_000; // 2 MB of u32, over LARGE_BUFFER
        // Half the text read: twice the items, and a tenth more.
        assert!((1_100_000..1_110_000).contains(&grown(large, 1, 5_000_000, 10_000_000)));
        // All of it read: an eighth more.
        assert!((562_500..570_000).contains(&grown(large, 1, 10_000_000, 10_000_000)));
        // Asking for more than either.
        assert!((1_500_000..1_510_000).contains(&grown(large, 1_000_000, 10_000_000, 10_000_000)));
        // At exactly LARGE_BUFFER bytes the estimate is used.
        assert!((576_716..580_000).contains(&grown(LARGE_BUFFER / 4, 1, 5_000_000, 10_000_000)));
        // Nothing read yet, or a small buffer: the estimate would be no use.
        assert!(grown(large, 1, 0, 10_000_000) > large);
        assert!(grown(10, 1, 1, 1_000) < 1_000);
        // Room already there: nothing changes.
        let mut buffer: Vec<u32> = Vec::with_capacity(large);
        buffer.push(1);
        reserve_ahead(&mut buffer, 1, 1, 10);
        assert_eq!(buffer.capacity(), large);
    }

    #[test]
    fn an_anchored_scalar_can_be_aliased() {
        let s = both("a: &x v\nb: *x\n");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.documents[0].root().get("b").and_then(|b| b.scalar()), Some("v"));
    }

    /// Where the marker goes: the tree is the same without it (the parser only holds
    /// more in memory), so its placement is pinned here.
    #[test]
    fn root_flow_collection_is_the_first_content_at_a_line_start() {
        assert_eq!(root_flow_collection("# list\n\n{\"a\": 1}\n"), Some(8));
        assert_eq!(root_flow_collection("  # list\r\n\t\n[1, 2]\n"), Some(12));
        assert_eq!(root_flow_collection("[1]"), Some(0));
        // Indented, after other content, or no content at all: no marker.
        assert_eq!(root_flow_collection("  {\"a\": 1}\n"), None);
        assert_eq!(root_flow_collection("a: 1\n{b: 2}\n"), None);
        assert_eq!(root_flow_collection("# only a comment\n\n"), None);
    }

    #[test]
    fn flow_collection_as_a_root_key_still_parses() {
        for text in ["[a, b]: c\n", "{a: 1}: c\nd: e\n"] {
            let s = both(text);
            assert!(s.errors.is_empty(), "{text}: {:?}", s.errors);
            let root = s.documents[0].root();
            assert!(root.is_map());
            let (key, value) = root.entries().next().unwrap();
            assert!(key.is_flow());
            assert_eq!(value.scalar(), Some("c"));
        }
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let text = "a: 1\nb: 2\na: 3\n";
        let s = both(text);
        assert_eq!(s.duplicates.len(), 1);
        assert_eq!(s.duplicates[0].first, 0..1);
        assert_eq!(s.duplicates[0].second, 10..11);
        assert_eq!(s.documents[0].root().get("a").and_then(|n| n.as_i64()), Some(3));
    }
}
