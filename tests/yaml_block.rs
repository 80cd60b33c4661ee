//! The block-subset parser (`src/yaml/block.rs`) against the general one: on every YAML
//! and JSON file of the corpus, the reference, the fixtures and the examples, whenever
//! the subset parser accepts a text, the general parser gives an equal stream (the same
//! documents, nodes, spans, values, styles and duplicate keys). Texts nobody wrote are
//! held to the same property here (30,000 mutated small files, 20,000 generated texts),
//! in `tests/mutations.rs` and by the `yaml_block` fuzz target.

use std::path::{Path, PathBuf};

use meshlint::yaml::{self, Stream};

mod common;
use common::Rng;

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Where two streams first differ, for the failure message.
fn first_difference(block: &Stream, general: &Stream) -> String {
    if block.documents.len() != general.documents.len() {
        return format!("{} documents, the general parser {}", block.documents.len(), general.documents.len());
    }
    for (i, (a, b)) in block.documents.iter().zip(&general.documents).enumerate() {
        if a.span() != b.span() {
            return format!("document {i}: span {:?}, the general parser {:?}", a.span(), b.span());
        }
        if a.node_count() != b.node_count() {
            return format!("document {i}: {} nodes, the general parser {}", a.node_count(), b.node_count());
        }
        for n in 0..a.node_count() as u32 {
            let (x, y) = (a.node(n), b.node(n));
            if x.span() != y.span() || x.scalar() != y.scalar() || x.style() != y.style() || x.kind() != y.kind() {
                return format!(
                    "document {i}, node {n}: {x:?} {:?}, the general parser {y:?} {:?}",
                    x.kind(),
                    y.kind()
                );
            }
        }
        if a != b {
            return format!("document {i}: {a:?}\nthe general parser: {b:?}");
        }
    }
    format!("duplicates {:?}, the general parser {:?}", block.duplicates, general.duplicates)
}

/// Parse every file both ways; returns (bytes of all files, bytes accepted by the subset).
fn agree_on(root: &Path) -> (usize, usize) {
    let files = files_under(root);
    assert!(!files.is_empty(), "{} holds YAML files", root.display());
    let (mut total, mut accepted) = (0, 0);
    let mut failures = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        total += text.len();
        let Some(block) = yaml::parse_block_subset(&text) else { continue };
        accepted += text.len();
        let general = yaml::parse_general(&text);
        assert!(
            general.errors.is_empty(),
            "{}: accepted, but the general parser finds {:?}",
            path.display(),
            general.errors
        );
        if block != general {
            failures.push(format!("{}: {}", path.display(), first_difference(&block, &general)));
        }
    }
    assert!(failures.is_empty(), "{} file(s) parsed differently:\n{}", failures.len(), failures.join("\n"));
    (total, accepted)
}

fn shared(dir: &str) -> PathBuf {
    common::shared().join(dir)
}

#[test]
fn the_subset_parser_agrees_with_the_general_one_on_the_corpus() {
    let (total, accepted) = agree_on(&shared("corpus"));
    // The share is what makes the subset parser worth having: the corpus is real
    // manifests, and nearly all of it is plain block style.
    assert!(accepted * 10 >= total * 9, "the subset parser reads {accepted} of the corpus's {total} bytes");
}

#[test]
fn the_subset_parser_agrees_with_the_general_one_on_the_reference() {
    agree_on(&shared("reference"));
}

#[test]
fn the_subset_parser_agrees_with_the_general_one_on_the_fixtures_and_examples() {
    let root = common::root();
    agree_on(&root.join("fixtures"));
    agree_on(&root.join("examples"));
}

/// What moves a text across the edges of the subset, or keeps it inside while changing
/// what it means: indicators, quotes, escapes, block scalar headers, markers, comments,
/// spaces, tabs, line breaks, characters YAML treats specially.
const TOKENS: &[&str] = &[
    ": ",
    ":",
    " #",
    "#",
    "- ",
    "-",
    "'",
    "\"",
    "''",
    "\\",
    "\\n",
    "\\x4",
    "\\u00e9",
    "\\ud800",
    "\\q",
    "|",
    "|-",
    "|+",
    ">",
    ">-",
    "|2",
    ">1-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "---",
    "...",
    "--- ",
    "\n",
    "\n\n",
    " ",
    "  ",
    "  \n",
    "\t",
    "?",
    "? ",
    "key: value\n",
    "a",
    "é",
    "\u{2028}",
    "\u{85}",
    "\u{feff}",
    "\u{a0}",
    "\u{3000}",
    "%",
    "@",
    "`",
    "!",
    "&a ",
    "*a",
    "\r",
    "\0",
    "x: |\n  y\n",
    "- - ",
    "k:\n- i\n",
];

/// How many cases a random test runs: `default`, or `MESHLINT_CASES` for a long run
/// (`MESHLINT_CASES=3000000 cargo test --release --test yaml_block`: a few seconds a
/// million).
fn cases(default: usize) -> usize {
    std::env::var("MESHLINT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A random test's seed: `default`, or `MESHLINT_SEED` to try other texts.
fn seed(default: u64) -> u64 {
    std::env::var("MESHLINT_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Line starts of `text`.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// One edit of `text` at a character boundary.
fn mutate(rng: &mut Rng, text: &mut String) {
    let starts = line_starts(text);
    let line = starts[rng.below(starts.len())];
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match rng.below(9) {
        0 | 1 => text.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
        // Re-indent a line.
        2 => text.insert_str(line, &" ".repeat(1 + rng.below(4))),
        3 => {
            let n = text[line..].bytes().take_while(|&b| b == b' ').count().min(1 + rng.below(4));
            text.replace_range(line..line + n, "");
        }
        // Delete a few characters.
        4 => {
            let mut end = (at + 1 + rng.below(3)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, "");
        }
        // Join a line with the next, or split one.
        5 => {
            if let Some(i) = text[at..].find('\n') {
                text.remove(at + i);
            }
        }
        6 => text.insert_str(at, &format!("\n{}", " ".repeat(rng.below(6)))),
        // Duplicate a line (a duplicate key, a second item).
        7 => {
            let end = text[line..].find('\n').map_or(text.len(), |i| line + i + 1);
            let copy = text[line..end].to_owned();
            text.insert_str(end, &copy);
        }
        // Put a blank line of spaces in.
        _ => text.insert_str(line, &format!("{}\n", " ".repeat(rng.below(8)))),
    }
}

#[test]
fn mutated_texts_are_declined_or_parsed_as_the_general_parser_does() {
    let cases = cases(30_000);
    let mut texts: Vec<String> = files_under(&shared("corpus"))
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|t| t.len() <= 8 * 1024)
        .collect();
    texts.extend(
        files_under(&common::root().join("fixtures"))
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|t| t.len() <= 8 * 1024),
    );
    assert!(texts.len() > 300, "{} small texts", texts.len());
    let mut rng = Rng(seed(0x626c_6f63_6b79_616d));
    let mut accepted = 0;
    for case in 0..cases {
        let mut text = texts[rng.below(texts.len())].clone();
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut text);
        }
        match meshlint::fuzzing::parsers_agree(text.as_bytes()) {
            Ok(yes) => accepted += usize::from(yes),
            Err(e) => panic!("case {case}: {e}"),
        }
    }
    // The edits must leave many texts inside the subset, or this test would prove little.
    assert!(accepted * 4 >= cases, "only {accepted} of {cases} mutated texts were accepted");
    eprintln!("{accepted} of {cases} mutated texts accepted and parsed alike");
}

/// Texts inside the subset, one for each thing it reads: each must be accepted, and
/// parsed as the general parser parses it.
const INSIDE: &[&str] = &[
    "",
    "# only a comment\n",
    "a: 1\n",
    "a: 1",
    "---\n",
    "---\n---\n# c\n...\n",
    "--- # first\na: 1\n...\n# between\n---\nb: 2\n---\n\n",
    "a: 1\n# c\n\n---\n- x\n",
    "  a: 1\n  b: 2\n",
    "a:\n- 1\n-\nb:\n  -\nc:\n  d\n",
    "a:\n- - x\n  - y\n- z\n",
    "- - x\n  - y\n- z\n",
    "-   a: 1\n    b: 2\n-\n  c: 3\n- \n-   # empty\n",
    "a:   # comment\n  b:\n    c: d   # e\n",
    "a: |\n  x\n\n  y\nb: 1\n",
    "a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: |\n  z\n\n",
    "a: |\n\n\n   x\n  # a comment, not text\n",
    "a: |\n  \n \n  x\n    y\n      \n  z\n",
    "a: |\n  x\n      \n\n",
    "a: |\n  x\ty\n  \tz\n",
    "a:\n  b: |2\n      x\n    y\n",
    "a:\n- |1-\n  x\n- |+2\n    y\n",
    "a: >\n  x\n  y\n\n  z\n   more\n  w\n\n\nb: >-\n  p\n   q\n\n  r\n  s\n\n",
    "a: >\n\n  x\n  \ty\n  z\n",
    "a: plain text\n  over lines\n\n  and a paragraph\nb: 1\n",
    "a: b\n  `c` {d} [e], 'f' \"g\" |h >i &j *k !l %m @n\n",
    "- plain\n  item\n- next\n",
    "a: b\n  -c\n  ?d :e\n  :f\n",
    "a: 'single\n  over lines ''quoted''\n\n  end'\n",
    "a: \"double\n  over \\\"lines\\\" \\u00e9\n\n  end\"\n",
    "a: \"\\x41\\u00e9\\U0001F600\\t\\n\\\\\\/\\0\\a\\b\\e\\f\\v\\N\\_\\L\\P\\ \\\"\"\n",
    "a: 'it''s'\nb: \"\"\nc: ''\n",
    // A backslash is text in single quotes, at a line's end too.
    "a: 'C:\\path\\x'\nb: 'x\\\n  y'\n",
    "a: [x, 'y', \"z\"]  # c\nb: {k: v, 'q': \"w\"}\nc: [ ]\nd: []\ne: {}   \nf: [a:b, c]\n",
    "- [x]\n- {a: 1}\n- []\n",
    "a: [b#c, d]\nb: [x , y ]\nc: {k : v , l: w}\n",
    // Spaces at the start and the end of a quoted scalar over several lines are text.
    "a: '  x\n  y  '\nb: \"  x\n  y  \"\nc: 'x  \n  y   \n  z'\n",
    "a: -1\nb: :path\nc: ?x\nd: -x\ne: ---\n",
    "\"quoted key\": 1\n'single': 2\na:b: 3\nhttp://x: 4\nkey with spaces: 5\na#b: 6\n",
    "ключ: значение\nemoji: \"😀\"\nk: 'ü\n  ö'\n",
    "a: 1\na: 2\nb:\n  c: 1\n  d: 2\n  c: 3\n",
    "a: b # c\nd: e#f\ng: 'h' # i\n",
    "a:\n  b\n c\n",
];

/// Texts outside the subset: each must be left to the general parser.
const OUTSIDE: &[&str] = &[
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "%YAML 1.2\n---\na: 1\n",
    "a:\tb\n",
    "\ta: b\n",
    "a: b\r\n",
    "\u{feff}a: b\n",
    "a: b\u{85}c\n",
    "a: {b: [c]}\n",
    "a: [b,\n  c]\n",
    "a: [b, c,]\n",
    // Keys without values, brackets that do not match, a comment inside.
    "a: {x, y}\n",
    "a: {b: c]\n",
    "a: [b}\n",
    "a: [b #c]\n",
    "a: b: c\n",
    "a: b:\n",
    "? a\n: b\n",
    "a: \"x\\\n  y\"\n",
    // An escaped space before a line break, with or without spaces after it.
    "a: \"x\\ \n  y\"\n",
    "a: \"x\\   \n  y\"\n",
    // A quoted scalar with no text on its first line, one whose next line is not
    // indented past its key, one whose closing quote opens a line, one never closed.
    "a: '\n  x'\n",
    "a: '   \n  x'\n",
    "a: 'x\ny'\n",
    "a: 'x\n  '\n",
    "a: 'x\n",
    "a: \"x\\q\"\n",
    "a: |\n  x",
    "a: 'unterminated\n",
    "a: b\n  c: d\n",
    "hello\n",
    "[1, 2]\n",
    "{\"a\": 1}\n",
    "a: |\n    \n  x\n",
    "a: |\n",
    // Two chomping indicators, two indentation indicators.
    "a: |--\n  x\n",
    "a: >+-\n  x\n",
    "a: |-+\n  x\n",
    "a: |12\n  x\n",
    "a: |\n  \n    \n  x\n",
    "a: b\n - c\n",
    "- a\nb: c\n",
    "a: 1\n- b\n",
    "key : value\n",
    "a: - b\n",
    "a: @b\n",
    "a:\n- \n  b\n",
    "a: |\n \t\n  x\n",
    // Spaces past the indentation on a last line without a line break (once a panic).
    "a: |\n  x\n     ",
    "a: |\n  x\n  \t \n",
];

#[test]
fn each_thing_the_subset_reads_is_parsed_as_the_general_parser_does() {
    for text in INSIDE {
        let block = yaml::parse_block_subset(text).unwrap_or_else(|| panic!("declined: {text:?}"));
        let general = yaml::parse_general(text);
        assert!(general.errors.is_empty(), "{text:?}: the general parser finds {:?}", general.errors);
        assert!(block == general, "{text:?}: {}", first_difference(&block, &general));
    }
}

#[test]
fn what_the_subset_does_not_read_is_left_to_the_general_parser() {
    for text in OUTSIDE {
        assert!(yaml::parse_block_subset(text).is_none(), "accepted: {text:?}");
    }
}

/// Random block-style YAML for `generated_texts_...`: mappings, sequences (indented and
/// indentless), scalars of every style the subset reads, over one line or several, block
/// scalars with their headers, flow collections, comments, blank lines and markers; now
/// and then a space too many or too few, a tab, a missing space, so that the edges of
/// the subset and the errors of YAML are crossed too.
struct Gen {
    rng: Rng,
    out: String,
}

const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "k-1",
    "\"q k\"",
    "'s k'",
    "a:b",
    "x y",
    "é",
    "$patch",
    "-k",
    "?k",
    "a#b",
    "\"a\\\"b\"",
    "'it''s'",
];
const WORDS: &[&str] = &[
    "x", "-1", "0x1F", "true", "~", "null", "a b", ":path", "?x", "a#b", "a :b", "{{ v }}", "[x]", "-x", "é ü", "a,b",
    "`c`", "'q'", "\"d\"", "a: b", "x:", "!t", "&a", "*a", "%x", "@x", "|", ">", "---", "...",
];
const ESCAPES: &[&str] =
    &["\\n", "\\t", "\\\\", "\\\"", "\\/", "\\x41", "\\u00e9", "\\U0001F600", "\\q", "\\", "\\ ", "\\0"];

impl Gen {
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.rng.below(from.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.rng.below(100) < percent
    }

    /// An indentation, now and then one off.
    fn indent(&mut self, n: usize) {
        let n = match self.rng.below(40) {
            0 => n + 1,
            1 => n.saturating_sub(1),
            _ => n,
        };
        self.out.push_str(&" ".repeat(n));
        if self.chance(1) {
            self.out.push('\t');
        }
    }

    fn end_line(&mut self) {
        if self.chance(8) {
            let comment = if self.chance(50) { " # c" } else { "  #c d" };
            self.out.push_str(comment);
        }
        if self.chance(3) {
            self.out.push(' ');
        }
        self.out.push('\n');
        while self.chance(8) {
            let n = self.rng.below(8);
            self.out.push_str(&" ".repeat(n));
            if self.chance(50) {
                self.out.push_str("# between");
            }
            self.out.push('\n');
        }
    }

    fn document(&mut self) {
        if self.chance(50) {
            let marker = if self.chance(80) { "---" } else { "--- # d" };
            self.out.push_str(marker);
            self.out.push('\n');
        }
        match self.rng.below(10) {
            0 => {}
            1..=3 => self.sequence(0, 0),
            _ => self.mapping(0, 0),
        }
        if self.chance(10) {
            self.out.push_str("...\n");
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) {
        for i in 0..=self.rng.below(4) {
            if i > 0 {
                self.indent(indent);
            }
            let key = self.pick(KEYS);
            self.out.push_str(key);
            self.out.push(':');
            self.value(indent, depth, true);
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) {
        for i in 0..=self.rng.below(3) {
            if i > 0 {
                self.indent(indent);
            }
            self.out.push('-');
            let gap = 1 + self.rng.below(3);
            match self.rng.below(10) {
                0 if depth < 6 => {
                    self.out.push_str(&" ".repeat(gap));
                    self.mapping(indent + 1 + gap, depth + 1);
                }
                1 if depth < 6 => {
                    self.out.push_str(&" ".repeat(gap));
                    self.sequence(indent + 1 + gap, depth + 1);
                }
                _ => self.value(indent, depth, false),
            }
        }
    }

    /// What follows a key's `:` or an item's `-`: a value on the line, or below it.
    fn value(&mut self, indent: usize, depth: usize, key: bool) {
        let below = indent + 1 + self.rng.below(4);
        match self.rng.below(12) {
            0 | 1 if depth < 6 => {
                self.end_line();
                self.indent(below);
                self.mapping(below, depth + 1);
            }
            2 if depth < 6 => {
                self.end_line();
                // Indentless under a key, or indented.
                let at = if key && self.chance(50) { indent } else { below };
                self.indent(at);
                self.sequence(at, depth + 1);
            }
            3 => self.end_line(),
            4 => self.block_scalar(indent),
            5 => {
                let items: Vec<String> = (0..self.rng.below(4)).map(|_| self.inline_scalar()).collect();
                let (open, close) = if self.chance(50) { ("[", "]") } else { ("{", "}") };
                let items: Vec<String> =
                    if open == "{" { items.iter().map(|i| format!("{i}: v")).collect() } else { items };
                self.out.push_str(&format!(" {open}{}{close}", items.join(", ")));
                self.end_line();
            }
            _ => {
                self.out.push(' ');
                self.scalar(indent);
            }
        }
    }

    fn inline_scalar(&mut self) -> String {
        match self.rng.below(4) {
            0 => format!("'{}'", self.pick(WORDS).replace('\'', "''")),
            1 => format!("\"{}{}\"", self.pick(WORDS).replace('"', ""), self.pick(ESCAPES)),
            _ => self.pick(WORDS).to_owned(),
        }
    }

    /// A plain or quoted scalar, on one line or over several.
    fn scalar(&mut self, indent: usize) {
        let text = self.inline_scalar();
        let (open, close) = match text.as_bytes()[0] {
            q @ (b'\'' | b'"') => (char::from(q).to_string(), char::from(q).to_string()),
            _ => (String::new(), String::new()),
        };
        let inner = &text[open.len()..text.len() - close.len()];
        self.out.push_str(&open);
        self.out.push_str(inner);
        for _ in 0..self.rng.below(3) {
            if self.chance(30) {
                self.out.push(' ');
            }
            self.out.push('\n');
            if self.chance(20) {
                self.out.push('\n');
            }
            let more = self.rng.below(3);
            self.indent(indent + 1 + more);
            let word = self.inline_scalar();
            self.out.push_str(word.trim_matches(['\'', '"']));
        }
        self.out.push_str(&close);
        self.end_line();
    }

    fn block_scalar(&mut self, indent: usize) {
        let header = self.pick(&["|", "|-", "|+", ">", ">-", ">+", "|2", ">1-", "|-1", "|0"]);
        self.out.push(' ');
        self.out.push_str(header);
        self.end_line();
        let content = indent + 1 + self.rng.below(3);
        for _ in 0..self.rng.below(5) {
            match self.rng.below(8) {
                0 => self.out.push('\n'),
                1 => {
                    let n = self.rng.below(content + 3);
                    self.out.push_str(&" ".repeat(n));
                    self.out.push('\n');
                }
                _ => {
                    let more = if self.chance(20) { 1 + self.rng.below(2) } else { 0 };
                    self.out.push_str(&" ".repeat(content + more));
                    if self.chance(5) {
                        self.out.push('\t');
                    }
                    let word = self.pick(WORDS);
                    self.out.push_str(word);
                    self.out.push('\n');
                }
            }
        }
    }
}

#[test]
fn generated_texts_are_declined_or_parsed_as_the_general_parser_does() {
    let cases = cases(20_000);
    let mut g = Gen { rng: Rng(seed(0x6765_6e65_7261_7465)), out: String::new() };
    let mut accepted = 0;
    for case in 0..cases {
        g.out.clear();
        for _ in 0..=g.rng.below(2) {
            g.document();
        }
        match meshlint::fuzzing::parsers_agree(g.out.as_bytes()) {
            Ok(yes) => accepted += usize::from(yes),
            Err(e) => panic!("case {case}: {e}"),
        }
    }
    assert!(accepted * 5 >= cases, "only {accepted} of {cases} generated texts were accepted");
    eprintln!("{accepted} of {cases} generated texts accepted and parsed alike");
}
