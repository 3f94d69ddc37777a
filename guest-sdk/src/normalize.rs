//! Undo the ways people write a value so that a plain pattern misses it, and map what is found back to
//! the exact bytes of the original text.
//!
//! A zero-width space inside an API key, `４１１１ １１１１ …` in full-width digits, a card number grouped
//! with no-break spaces, `\u0040` for `@` in JSON, `%40` in a URL: each defeats a matcher that reads the
//! bytes as written. [`Normalized::new`] folds them into the plain form a detector's patterns expect, and
//! [`Normalized::original_span`] turns a span found in that form into the span of the original text that
//! holds the whole value — zero-width characters, escapes and all — so redacting it leaves nothing behind.
//!
//! ```
//! use palisade_sdk::normalize::{Folds, Normalized};
//!
//! let text = "card ４１１１\u{200B}1111 1111 1111 please";
//! let n = Normalized::new(text);
//! assert_eq!(n.text(), "card 41111111 1111 1111 please");
//! let found = 5..23; // what a card pattern finds in n.text()
//! let span = n.original_span(found.clone());
//! assert_eq!(&text[span.clone()], "４１１１\u{200B}1111 1111 1111");
//! assert!(n.folds_in(span).contains(Folds::INVISIBLE | Folds::COMPATIBILITY));
//! ```
//!
//! What it folds, one character (or one escape) at a time:
//! - compatibility forms whose NFKC form is plain ASCII: full-width `Ａ１＠`, mathematical `𝟒𝐀`, circled
//!   `①`, the one-dot leader `․` (not super- or subscript digits: `10²` must not become `102`);
//! - decimal digits of every script (`٤`, `४`, `๔`) to ASCII digits;
//! - space separators (no-break, thin, figure, ideographic …) to a space, dashes (`‐ ‑ ‒ – −`) to `-`;
//! - invisible characters are dropped: format characters (zero-width space, joiners, soft hyphen, word
//!   joiner, BOM, bidirectional controls), variation selectors, and combining marks written on an ASCII
//!   letter or digit (`4̲`, keycap `4️⃣`);
//! - Unicode tag characters (invisible copies of ASCII, used to smuggle text to a model) to the ASCII they
//!   stand for — except inside a flag emoji, where they are dropped;
//! - escapes: JSON `\uXXXX` (with surrogate pairs) and `\n \t \" \\ \/ …`; HTML `&#64;`, `&#x40;` and a few
//!   named references; URL `%XX` sequences inside a URL-like token (after `:`, `/`, `?`, `=` or `&`) —
//!   in a URL (a `/` before the escape) not those that decode to a space or a character that ends a URL,
//!   so a URL's span never shrinks; in a query string or form body with no `/`, every printable one, so
//!   the quotes around a value in percent-encoded JSON part it from its neighbours;
//! - with [`Normalized::with_look_alikes`], Cyrillic and Greek letters drawn like Latin ones (`а`, `о`,
//!   `р`, `Α` …) inside a word that also has Latin letters or digits, to those Latin letters.
//!
//! Text with nothing to fold (plain ASCII without `\`, `%` or `&`) is checked with one pass over its bytes
//! and not copied. Normalising never makes a value valid: detectors run their validators (checksums, issuer
//! ranges, context words) on the normalised text exactly as on plain text.

use std::borrow::Cow;
use std::ops::Range;

/// What was undone to turn a stretch of the original into its normalised form (a set of flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Folds(u16);

impl Folds {
    /// Nothing.
    pub const NONE: Folds = Folds(0);
    /// Zero-width and other format characters, variation selectors (dropped).
    pub const INVISIBLE: Folds = Folds(1);
    /// Full-width, mathematical, circled or other compatibility forms of ASCII letters, digits, signs.
    pub const COMPATIBILITY: Folds = Folds(1 << 1);
    /// Combining marks on an ASCII letter or digit (dropped).
    pub const COMBINING_MARK: Folds = Folds(1 << 2);
    /// Unicode tag characters, read as the ASCII they mirror.
    pub const TAG: Folds = Folds(1 << 3);
    /// An escape for a character no encoder escapes (a letter, a digit, `@`, `.`): written to hide it.
    pub const NEEDLESS_ESCAPE: Folds = Folds(1 << 4);
    /// Decimal digits of another script.
    pub const DIGIT: Folds = Folds(1 << 5);
    /// A space separator other than U+0020.
    pub const SPACE: Folds = Folds(1 << 6);
    /// A dash other than `-`.
    pub const DASH: Folds = Folds(1 << 7);
    /// An ordinary JSON, HTML or URL escape.
    pub const ESCAPE: Folds = Folds(1 << 8);
    /// A Cyrillic or Greek letter that looks like a Latin one, inside a word written in Latin letters
    /// (`pаypal` with a Cyrillic `а`). Folded only by [`Normalized::with_look_alikes`].
    pub const LOOK_ALIKE: Folds = Folds(1 << 9);

    /// The folds that ordinary writing does not produce inside a value people write (a card number, an
    /// address), so finding one is a sign that someone meant to get the value past a filter. Other
    /// scripts' digits, typographic spaces and dashes and the escapes an encoder writes are how people and
    /// programs normally write.
    pub const EVASIVE: Folds = Folds(
        Folds::INVISIBLE.0
            | Folds::COMPATIBILITY.0
            | Folds::COMBINING_MARK.0
            | Folds::TAG.0
            | Folds::NEEDLESS_ESCAPE.0
            | Folds::LOOK_ALIKE.0,
    );

    /// The same for machine-made values (API keys, tokens): they are ASCII, so any fold but an ordinary
    /// escape inside one (`\n` in a PEM key in JSON) is a disguise.
    pub const EVASIVE_IN_TOKENS: Folds =
        Folds(Folds::EVASIVE.0 | Folds::DIGIT.0 | Folds::SPACE.0 | Folds::DASH.0);

    const NAMES: [(Folds, &'static str); 10] = [
        (Folds::INVISIBLE, "invisible characters"),
        (Folds::COMPATIBILITY, "full-width or styled characters"),
        (Folds::COMBINING_MARK, "combining marks"),
        (Folds::TAG, "tag characters"),
        (Folds::NEEDLESS_ESCAPE, "escaped plain characters"),
        (Folds::DIGIT, "another script's digits"),
        (Folds::SPACE, "non-ASCII spaces"),
        (Folds::DASH, "non-ASCII dashes"),
        (Folds::ESCAPE, "escapes"),
        (Folds::LOOK_ALIKE, "look-alike letters of another script"),
    ];

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every flag of `other` is set here.
    pub fn contains(self, other: Folds) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags set both here and in `other`.
    pub fn intersection(self, other: Folds) -> Folds {
        Folds(self.0 & other.0)
    }

    /// For people, e.g. `"invisible characters, full-width or styled characters"`.
    pub fn describe(self) -> String {
        let names: Vec<&str> = Folds::NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, name)| *name)
            .collect();
        names.join(", ")
    }
}

impl std::ops::BitOr for Folds {
    type Output = Folds;
    fn bitor(self, other: Folds) -> Folds {
        Folds(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Folds {
    fn bitor_assign(&mut self, other: Folds) {
        self.0 |= other.0;
    }
}

/// One stretch of the original that was rewritten: `orig` became `out` (empty when it was dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edit {
    out: Range<usize>,
    orig: Range<usize>,
    folds: Folds,
    /// A dropped mark that belongs to the character before it (a combining mark, a variation selector):
    /// a span ending at that character takes it along.
    attached: bool,
}

/// A text in the plain form detectors expect, with the way back to the original's bytes.
#[derive(Clone, Debug)]
pub struct Normalized<'t> {
    text: Cow<'t, str>,
    /// In text order; everything between two edits is copied unchanged.
    edits: Vec<Edit>,
}

impl<'t> Normalized<'t> {
    /// Folds `original` (see the module documentation for what is folded).
    pub fn new(original: &'t str) -> Normalized<'t> {
        Normalized::folding(original, false)
    }

    /// Like [`Normalized::new`], and also reads the Cyrillic and Greek letters that look like Latin ones
    /// as those, where they stand in a word with Latin letters or digits (`jаne@exаmple.com`, `sk-prоj-…`):
    /// for detectors that report what they find. Not for one that lets through what it recognises (an
    /// allowlist), where `pаypal.com` must not pass for `paypal.com`. Words wholly in Cyrillic or Greek are
    /// left as they are.
    pub fn with_look_alikes(original: &'t str) -> Normalized<'t> {
        Normalized::folding(original, true)
    }

    fn folding(original: &'t str, look_alikes: bool) -> Normalized<'t> {
        let unchanged = Normalized {
            text: Cow::Borrowed(original),
            edits: Vec::new(),
        };
        if next_fold_start(original.as_bytes()).is_none() {
            return unchanged;
        }
        let mut folder = Folder::new(original, look_alikes);
        folder.run();
        if folder.edits.is_empty() {
            return unchanged;
        }
        folder.out.push_str(&original[folder.copied_to..]);
        Normalized {
            text: Cow::Owned(folder.out),
            edits: folder.edits,
        }
    }

    /// The normalised text, to run patterns on.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when normalising changed something.
    pub fn changed(&self) -> bool {
        !self.edits.is_empty()
    }

    /// The byte range of the original text that `span` of [`Normalized::text`] came from. A span that
    /// starts or ends inside a rewritten character (or escape) grows to cover all of it; characters dropped
    /// inside the span are covered, those just outside it are not. Offsets past the end are clamped.
    pub fn original_span(&self, span: Range<usize>) -> Range<usize> {
        let end = span.end.min(self.text.len());
        let start = span.start.min(end);
        if self.edits.is_empty() {
            return start..end;
        }
        let begin = self.original_offset(start, true);
        if end == start {
            return begin..begin;
        }
        let mut finish = self.original_offset(end, false);
        // Marks dropped right after the span belong to its last character.
        let mut next = self.edits.partition_point(|e| e.orig.start < finish);
        while let Some(mark) = self
            .edits
            .get(next)
            .filter(|e| e.attached && e.orig.start == finish)
        {
            finish = mark.orig.end;
            next += 1;
        }
        begin..finish.max(begin)
    }

    /// Where normalised offset `at` lies in the original: as the start of a span (`start`), or as its
    /// exclusive end, judged by the byte before it.
    fn original_offset(&self, at: usize, start: bool) -> usize {
        let probe = if start { at } else { at - 1 };
        // The last edit that begins at or before the byte in question.
        let i = self.edits.partition_point(|e| e.out.start <= probe);
        let Some(edit) = i.checked_sub(1).map(|i| &self.edits[i]) else {
            return at;
        };
        if probe < edit.out.end {
            if start {
                edit.orig.start
            } else {
                edit.orig.end
            }
        } else {
            edit.orig.end + (at - edit.out.end)
        }
    }

    /// Where `span` of the normalised text lies in the original, and the folds inside it (none: the value
    /// was written plainly). What a detector calls for each hit.
    pub fn locate(&self, span: Range<usize>) -> (Range<usize>, Folds) {
        let original = self.original_span(span);
        let folds = self.folds_in(original.clone());
        (original, folds)
    }

    /// The folds applied anywhere inside `original` (a byte range of the original text).
    pub fn folds_in(&self, original: Range<usize>) -> Folds {
        let first = self.edits.partition_point(|e| e.orig.end <= original.start);
        self.edits[first..]
            .iter()
            .take_while(|e| e.orig.start < original.end)
            .fold(Folds::NONE, |all, e| all | e.folds)
    }
}

/// Bytes that may start something to fold: everything else is plain ASCII, copied as it is.
/// The ASCII characters that may start a fold (escapes); every other fold starts outside ASCII. A text
/// with none of these and nothing outside ASCII is left as it is, which is what a plugin's gate relies on.
pub const FOLD_BYTES: &str = "\\%&";

fn starts_fold(b: u8) -> bool {
    (b >= 0x80) | (b == b'\\') | (b == b'%') | (b == b'&')
}

/// Where the next byte that may start a fold is. Checked in chunks with no early exit inside one, so the
/// compiler can test many bytes per instruction: on plain ASCII text, this is all normalising costs.
fn next_fold_start(bytes: &[u8]) -> Option<usize> {
    // In a run of non-ASCII text the next character is the answer: no chunk to scan.
    if bytes.first().is_some_and(|&b| starts_fold(b)) {
        return Some(0);
    }
    let mut base = 0;
    for chunk in bytes.chunks(64) {
        if chunk.iter().fold(false, |seen, &b| seen | starts_fold(b)) {
            return chunk.iter().position(|&b| starts_fold(b)).map(|i| base + i);
        }
        base += chunk.len();
    }
    None
}

/// One pass over the original: copies what needs nothing, records an [`Edit`] for what it rewrites.
struct Folder<'t> {
    text: &'t str,
    out: String,
    edits: Vec<Edit>,
    /// Original bytes before this are in `out` already.
    copied_to: usize,
    /// Inside a flag emoji's tag sequence, where tag characters are part of the picture.
    in_flag: bool,
    /// Whether Cyrillic and Greek look-alikes of Latin letters are folded (see [`Folds::LOOK_ALIKE`]).
    look_alikes: bool,
}

impl<'t> Folder<'t> {
    fn new(text: &'t str, look_alikes: bool) -> Folder<'t> {
        Folder {
            text,
            out: String::with_capacity(text.len()),
            edits: Vec::new(),
            copied_to: 0,
            in_flag: false,
            look_alikes,
        }
    }

    fn run(&mut self) {
        let bytes = self.text.as_bytes();
        let mut at = 0;
        while let Some(skip) = next_fold_start(&bytes[at..]) {
            if skip > 0 {
                self.in_flag = false;
                at += skip;
            }
            let rest = &self.text[at..];
            let escape = match bytes[at] {
                b'\\' => json_escape(rest),
                b'&' => html_reference(rest),
                b'%' => self
                    .url_like_token(at)
                    .and_then(|token| percent_escape(rest, token)),
                _ => None,
            };
            let (c, len, escape) = escape.unwrap_or_else(|| {
                let c = rest.chars().next().unwrap_or(' ');
                (c, c.len_utf8(), Folds::NONE)
            });
            let (replacement, folds) = self.fold(c, at);
            let folds = folds | escape;
            if !folds.is_empty() {
                self.rewrite(at..at + len, replacement, folds);
            }
            at += len;
        }
    }

    /// Whether the `%` at `at` sits in a token that looks like a URL or a query string (after `:`, `/`,
    /// `?`, `=` or `&` and no space or quote since), and which: a token with a `/` before the `%` is a
    /// URL, one without is a query string or a form body. Asked only at a `%`, and never more than 2 KiB
    /// back.
    fn url_like_token(&self, at: usize) -> Option<Token> {
        let before = &self.text.as_bytes()[at.saturating_sub(2048)..at];
        let token_start = before
            .iter()
            .rposition(|&b| b.is_ascii_whitespace() || b"\"'<>`".contains(&b))
            .map_or(0, |i| i + 1);
        let token = &before[token_start..];
        if !token.iter().any(|b| b":/?=&".contains(b)) {
            return None;
        }
        Some(if token.contains(&b'/') {
            Token::Url
        } else {
            Token::Query
        })
    }

    /// Whether the run of Cyrillic and Greek letters around `at` touches an ASCII letter or digit on
    /// either side: a word mixing scripts. Reads at most 64 characters each way, so a long run costs
    /// linear time.
    fn in_latin_word(&self, at: usize) -> bool {
        let latin = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        let mut before = self.text[..at].chars().rev();
        let mut after = self.text[at..].chars().skip(1);
        let edge = |chars: &mut dyn Iterator<Item = char>| {
            chars
                .take(64)
                .find(|&c| !is_cyrillic_or_greek_letter(c) && !is_invisible(c as u32))
        };
        latin(edge(&mut before)) || latin(edge(&mut after))
    }

    /// The last character kept before `at` (in the output so far, or in the stretch not yet copied).
    fn previous_kept(&self, at: usize) -> Option<char> {
        if self.copied_to < at {
            self.text[..at].chars().next_back()
        } else {
            self.out.chars().next_back()
        }
    }

    fn rewrite(&mut self, orig: Range<usize>, replacement: Replacement, folds: Folds) {
        self.out.push_str(&self.text[self.copied_to..orig.start]);
        let out_start = self.out.len();
        match &replacement {
            Replacement::Drop { .. } => {}
            &Replacement::Char(c) => self.out.push(c),
            Replacement::Ascii(s) => self.out.push_str(s.as_str()),
        }
        self.copied_to = orig.end;
        let attached = matches!(replacement, Replacement::Drop { attached: true });
        self.edits.push(Edit {
            out: out_start..self.out.len(),
            orig,
            folds,
            attached,
        });
    }

    /// What `c` (at `at` in the original) becomes, and which fold that is (none: `c` stays as it is).
    fn fold(&mut self, c: char, at: usize) -> (Replacement, Folds) {
        let was_in_flag = std::mem::take(&mut self.in_flag);
        if c.is_ascii() {
            return (Replacement::Char(c), Folds::NONE);
        }
        let code = c as u32;
        if let Some(d) = ascii_digit(c) {
            // Full-width digits and mathematical digits are compatibility forms; the rest are scripts.
            let fold = if (0xFF10..=0xFF19).contains(&code) || (0x1D7CE..=0x1D7FF).contains(&code) {
                Folds::COMPATIBILITY
            } else {
                Folds::DIGIT
            };
            return (Replacement::Char(d), fold);
        }
        if is_variation_selector(code) {
            return (Replacement::Drop { attached: true }, Folds::INVISIBLE);
        }
        if is_invisible(code) {
            return (Replacement::Drop { attached: false }, Folds::INVISIBLE);
        }
        if (0xE0000..=0xE007F).contains(&code) {
            let ascii = (code - 0xE0000) as u8;
            // A flag emoji (U+1F3F4, tags, U+E007F) keeps its tags to itself.
            if was_in_flag {
                self.in_flag = ascii != 0x7F;
                return (Replacement::Drop { attached: false }, Folds::TAG);
            }
            return match ascii {
                0x20..=0x7E => (Replacement::Char(char::from(ascii)), Folds::TAG),
                _ => (Replacement::Drop { attached: false }, Folds::TAG),
            };
        }
        if code == 0x1F3F4 {
            self.in_flag = true;
            return (Replacement::Char(c), Folds::NONE);
        }
        if is_combining_mark(code)
            && self
                .previous_kept(at)
                .is_some_and(|p| p.is_ascii_alphanumeric())
        {
            return (Replacement::Drop { attached: true }, Folds::COMBINING_MARK);
        }
        if is_space(code) {
            return (Replacement::Char(' '), Folds::SPACE);
        }
        if self.look_alikes {
            if let Some(latin) = latin_look_alike(c).filter(|_| self.in_latin_word(at)) {
                return (Replacement::Char(latin), Folds::LOOK_ALIKE);
            }
        }
        if is_dash(code) {
            return (Replacement::Char('-'), Folds::DASH);
        }
        if is_super_or_subscript(code) || !might_decompose_to_ascii(code) {
            return (Replacement::Char(c), Folds::NONE);
        }
        match compatibility_ascii(c) {
            Some(ascii) => (Replacement::Ascii(ascii), Folds::COMPATIBILITY),
            None => (Replacement::Char(c), Folds::NONE),
        }
    }
}

enum Replacement {
    /// `attached`: the character belongs to the one before it (a mark, a variation selector).
    Drop {
        attached: bool,
    },
    Char(char),
    Ascii(SmallAscii),
}

/// Up to eight ASCII bytes: what a compatibility character decomposes to (`①` → `1`, `⑴` → `(1)`).
struct SmallAscii {
    bytes: [u8; 8],
    len: usize,
}

impl SmallAscii {
    fn as_str(&self) -> &str {
        // Only ASCII bytes are ever pushed.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// The ranges holding every character whose compatibility decomposition is ASCII, other than digits
/// (from Python's `unicodedata`, Unicode 14, gaps under 32 merged), so that prose in Latin with accents,
/// Cyrillic, CJK, Hangul … skips the decomposition lookup.
fn might_decompose_to_ascii(code: u32) -> bool {
    // By 256-character block first: a jump table, where one long chain of range tests cost as much as
    // the rest of folding a character.
    match code >> 8 {
        0x00 => (0xA0..=0xBA).contains(&code),
        0x01 => matches!(code, 0x0132..=0x0133 | 0x017F | 0x01C7..=0x01CC | 0x01F1..=0x01F3),
        0x02 => matches!(code, 0x02B0..=0x02B8 | 0x02E1..=0x02E3),
        0x03 => code == 0x037E,
        0x1D => matches!(code, 0x1D2C..=0x1D65 | 0x1D9C..=0x1DBB),
        0x1F => code >= 0x1FEF,
        0x20 => code <= 0x20A8,
        0x21 => code <= 0x217F,
        0x24 => (0x2460..=0x24EA).contains(&code),
        0x2A => (0x2A74..=0x2A76).contains(&code),
        0x2C => (0x2C7C..=0x2C7D).contains(&code),
        0x30 => code == 0x3000,
        0x32 => matches!(code, 0x3250..=0x325F | 0x32B1..=0x32CF),
        0x33 => matches!(code, 0x3371..=0x33DD | 0x33FF),
        0xA7 => (0xA7F2..=0xA7F4).contains(&code),
        0xFB => matches!(code, 0xFB00..=0xFB06 | 0xFB29),
        0xFE => (0xFE10..=0xFE6B).contains(&code),
        0xFF => (0xFF01..=0xFF5E).contains(&code),
        0x107 => code == 0x107A5,
        0x1D4..=0x1D6 => code <= 0x1D6A3,
        0x1F1 => code <= 0x1F16C || code == 0x1F190,
        _ => false,
    }
}

/// The NFKC form of `c` when it is plain printable ASCII (and short), else `None`.
fn compatibility_ascii(c: char) -> Option<SmallAscii> {
    let mut ascii = SmallAscii {
        bytes: [0; 8],
        len: 0,
    };
    let mut fits = true;
    unicode_normalization::char::decompose_compatible(c, |d| {
        if fits && (d.is_ascii_graphic() || d == ' ') && ascii.len < ascii.bytes.len() {
            ascii.bytes[ascii.len] = d as u8;
            ascii.len += 1;
        } else {
            fits = false;
        }
    });
    // A character with no decomposition decomposes to itself, which is not ASCII here.
    (fits && ascii.len > 0).then_some(ascii)
}

/// The zero of every run of ten decimal digits in Unicode 14 (`unicodedata`, category Nd, value 0).
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The ASCII digit for a decimal digit of any script.
fn ascii_digit(c: char) -> Option<char> {
    let code = c as u32;
    // Latin, Greek, Cyrillic, Hebrew; general punctuation to Yi (CJK, kana); Hangul: no digits there, and
    // a binary search's mispredicted branches cost more than the rest of folding a character.
    if code < 0x660 || (0x1C5A..0xA620).contains(&code) || (0xABFA..0xFF10).contains(&code) {
        return None;
    }
    let i = DIGIT_ZEROS.partition_point(|&zero| zero <= code);
    let zero = DIGIT_ZEROS[i.checked_sub(1)?];
    let value = code - zero;
    (value < 10).then(|| char::from(b'0' + value as u8))
}

/// Characters that draw nothing: format characters a value never contains.
fn is_invisible(code: u32) -> bool {
    matches!(
        code,
        0x00AD            // soft hyphen
        | 0x034F          // combining grapheme joiner
        | 0x061C          // Arabic letter mark
        | 0x115F | 0x1160 | 0x3164 | 0xFFA0 // Hangul fillers
        | 0x180E          // Mongolian vowel separator
        | 0x200B..=0x200F // zero-width space, non-joiner, joiner, LRM, RLM
        | 0x202A..=0x202E // bidirectional embeddings and overrides
        | 0x2060..=0x2064 // word joiner, invisible operators
        | 0x2066..=0x206F // bidirectional isolates, deprecated format characters
        | 0xFEFF          // byte-order mark, zero-width no-break space
        | 0x1BCA0..=0x1BCA3 // shorthand format controls
    )
}

/// Variation selectors choose how the character before them is drawn (text or emoji, a glyph variant).
fn is_variation_selector(code: u32) -> bool {
    matches!(code, 0x180B..=0x180D | 0x180F | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// Combining marks in the blocks that decorate Latin letters and digits (underlines, strokes, keycaps).
fn is_combining_mark(code: u32) -> bool {
    matches!(
        code,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
    )
}

/// The Greek and Cyrillic blocks less their few signs and combining marks (ranges, not a Unicode
/// property lookup: this is asked of every character of a Cyrillic word with a look-alike in it).
fn is_cyrillic_or_greek_letter(c: char) -> bool {
    matches!(c as u32, 0x0386 | 0x0388..=0x03FF | 0x0400..=0x0482 | 0x048A..=0x052F)
}

/// The Latin letter a Cyrillic or Greek one is drawn like in common fonts (Unicode's confusables data,
/// UTS #39, for the letters of these two scripts that are confused with a single ASCII letter).
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' => 'e',
        'һ' => 'h',
        'і' | 'ι' => 'i',
        'ј' | 'ϳ' => 'j',
        'ӏ' => 'l',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'υ' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' => 'w',
        'х' => 'x',
        'у' | 'γ' => 'y',
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'С' | 'Ϲ' => 'C',
        'Е' | 'Ε' => 'E',
        'Н' | 'Η' => 'H',
        'І' | 'Ι' => 'I',
        'Ј' => 'J',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'Ν' => 'N',
        'О' | 'Ο' => 'O',
        'Р' | 'Ρ' => 'P',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'Х' | 'Χ' => 'X',
        'У' | 'Υ' => 'Y',
        'Ζ' => 'Z',
        _ => return None,
    })
}

fn is_space(code: u32) -> bool {
    matches!(
        code,
        0x00A0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000
    )
}

fn is_dash(code: u32) -> bool {
    // Hyphens, the figure and en dash, the minus sign: what a digit group is joined with. Not the em dash
    // and the horizontal bar, which prose is full of and no number is written with; not the small and
    // full-width hyphen-minus (U+FE63, U+FF0D), which are compatibility forms of `-`.
    matches!(code, 0x2010..=0x2013 | 0x2212)
}

/// Super- and subscript digits and signs stay as they are: `10²` is a power, not the number 102.
fn is_super_or_subscript(code: u32) -> bool {
    matches!(code, 0x00B2 | 0x00B3 | 0x00B9 | 0x2070..=0x209F)
}

/// `\uXXXX` (a surrogate pair as one character) or a one-letter JSON escape at the start of `s`.
fn json_escape(s: &str) -> Option<(char, usize, Folds)> {
    let b = s.as_bytes();
    let simple = match *b.get(1)? {
        b'n' => '\n',
        b't' => '\t',
        b'r' => '\r',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'u' => {
            let high = hex_value(b.get(2..6)?)?;
            let (code, len) = if (0xD800..0xDC00).contains(&high) {
                let low = b
                    .get(6..8)
                    .filter(|p| p == b"\\u")
                    .and_then(|_| hex_value(b.get(8..12)?))
                    .filter(|low| (0xDC00..0xE000).contains(low))?;
                (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
            } else {
                (high, 6)
            };
            let c = char::from_u32(code)?;
            return Some((c, len, escape_folds(c, b"\"\\<>&'")));
        }
        _ => return None,
    };
    Some((simple, 2, Folds::ESCAPE))
}

/// `&#64;`, `&#x40;` or one of the named references a value could hide behind, at the start of `s`.
fn html_reference(s: &str) -> Option<(char, usize, Folds)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let body = &s[1..end];
    let c = if let Some(number) = body.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{A0}',
            "commat" => '@',
            "period" => '.',
            "colon" => ':',
            "sol" => '/',
            _ => return None,
        }
    };
    let folds = if matches!(body, "commat" | "period" | "colon" | "sol") {
        Folds::NEEDLESS_ESCAPE
    } else {
        escape_folds(c, b"\"<>&'")
    };
    Some((c, end + 1, folds))
}

/// Where a `%XX` escape sits (see [`Normalized::url_like_token`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A URL: an escaped space or quote stays as written, or it would cut the URL short.
    Url,
    /// A query string or form body with no URL in it (`q=%7B%22email%22%3A…`): every printable
    /// character is decoded, so the quotes and spaces around a value part it from its neighbours.
    Query,
}

/// A run of `%XX` that spells one UTF-8 character, at the start of `s` — in a URL, unless it is a space
/// or a character that ends a URL, which would cut the URL around it short.
fn percent_escape(s: &str, token: Token) -> Option<(char, usize, Folds)> {
    let b = s.as_bytes();
    let byte_at = |i: usize| -> Option<u8> {
        (b.get(i * 3) == Some(&b'%'))
            .then(|| hex_value(b.get(i * 3 + 1..i * 3 + 3)?))
            .flatten()
            .map(|v| v as u8)
    };
    let first = byte_at(0)?;
    let width = match first {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut utf8 = [first, 0, 0, 0];
    for (i, slot) in utf8.iter_mut().enumerate().take(width).skip(1) {
        *slot = byte_at(i)?;
    }
    let c = std::str::from_utf8(&utf8[..width]).ok()?.chars().next()?;
    let ends_a_url = c.is_whitespace() || "<>\"'`{}|\\^".contains(c);
    if c.is_control() || token == Token::Url && ends_a_url {
        return None;
    }
    // RFC 3986's unreserved characters are never percent-encoded by an encoder.
    let unreserved = c.is_ascii_alphanumeric() || "-._~".contains(c);
    let folds = if unreserved {
        Folds::NEEDLESS_ESCAPE
    } else {
        Folds::ESCAPE
    };
    Some((c, width * 3, folds))
}

/// An escape (JSON `\u`, HTML `&#…;`) of printable ASCII other than the characters such encoders do
/// escape (`special`) is needless: written to hide the character.
fn escape_folds(c: char, special: &[u8]) -> Folds {
    let printable = c == ' ' || c.is_ascii_graphic();
    if printable && !special.contains(&(c as u8)) {
        Folds::NEEDLESS_ESCAPE
    } else {
        Folds::ESCAPE
    }
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &d| {
        Some(value * 16 + char::from(d).to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn fold_bytes_are_the_ascii_bytes_that_start_a_fold() {
        for b in 0..0x80u8 {
            assert_eq!(starts_fold(b), FOLD_BYTES.as_bytes().contains(&b), "{b:#x}");
        }
    }

    fn folded(text: &str) -> String {
        Normalized::new(text).text().to_string()
    }

    #[test]
    fn plain_ascii_is_borrowed_and_maps_to_itself() {
        let n = Normalized::new("mail ana@example.com now");
        assert!(!n.changed());
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.original_span(5..20), 5..20);
        // Characters that might start an escape but do not.
        let n = Normalized::new("50% off & C:\\x 100%zz");
        assert!(!n.changed(), "{:?}", n.text());
    }

    #[test]
    fn look_alike_letters_fold_only_in_a_word_with_latin_letters_and_only_when_asked() {
        let mixed = "mail rоsa@оutlook.cоm or pаypal"; // Cyrillic о and а
        let n = Normalized::with_look_alikes(mixed);
        assert_eq!(n.text(), "mail rosa@outlook.com or paypal");
        let at = mixed.find("rоsa").unwrap();
        let (span, folds) = n.locate(5..21);
        assert_eq!(span, at..at + "rоsa@оutlook.cоm".len());
        assert!(folds.contains(Folds::LOOK_ALIKE));
        assert!(Folds::EVASIVE.contains(Folds::LOOK_ALIKE));
        // A run of Cyrillic letters next to Latin ones folds whole: `соntoso` with two of them in a row.
        assert_eq!(
            Normalized::with_look_alikes("ana@соntoso.com").text(),
            "ana@contoso.com"
        );
        // Words wholly in Cyrillic or Greek are text, not disguise; and the plain constructor never folds
        // them (an allowlist must not take `pаypal.com` for `paypal.com`).
        for text in ["Москва, сон и море", "καλημέρα κόσμε"] {
            assert!(!Normalized::with_look_alikes(text).changed(), "{text}");
        }
        assert_eq!(folded(mixed), mixed);
    }

    #[test]
    fn folds_the_listed_evasions() {
        assert_eq!(folded("４１１１－１１１１"), "4111-1111");
        assert_eq!(folded("٤١١١ ١١١١"), "4111 1111");
        assert_eq!(
            folded("4111\u{A0}1111\u{2009}1111\u{202F}1111"),
            "4111 1111 1111 1111"
        );
        assert_eq!(
            folded("sk-\u{200B}ant\u{2060}-api\u{FEFF}03"),
            "sk-ant-api03"
        );
        assert_eq!(folded("078\u{2013}05\u{2212}1120"), "078-05-1120");
        assert_eq!(folded("ana\\u0040example.com"), "ana@example.com");
        assert_eq!(folded("\\ud83d\\ude00"), "😀");
        assert_eq!(folded("ana&#64;example&#x2E;com"), "ana@example.com");
        assert_eq!(folded("ana&commat;example&period;com"), "ana@example.com");
        assert_eq!(folded("mailto:ana%40example.com"), "mailto:ana@example.com");
        assert_eq!(folded("𝟒𝟏𝟏𝟏 𝐚𝐧𝐚"), "4111 ana");
        assert_eq!(folded("4\u{FE0F}\u{20E3}1\u{0332}"), "41");
        assert_eq!(folded("①②"), "12");
        assert_eq!(folded("key \u{E0073}\u{E006B}"), "key sk");
        assert_eq!(folded("https:\\/\\/x.io"), "https://x.io");
    }

    #[test]
    fn leaves_alone_what_is_not_an_evasion() {
        for text in [
            "Grüße aus Köln, 東京都 — こんにちは",
            "E = mc² and H₂O",
            "100% sure, 20%off",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} flag",
            "café",
        ] {
            let n = Normalized::new(text);
            // The flag's tags drop; nothing else changes.
            let expected = text
                .chars()
                .filter(|c| !(0xE0000..=0xE007F).contains(&(*c as u32)))
                .collect::<String>();
            assert_eq!(n.text(), expected, "{text:?}");
            assert_eq!(n.changed(), text.contains('🏴'), "{text:?}");
        }
        // A percent escape outside a URL, and one that would end a URL, stay as written.
        assert_eq!(folded("discount %40 today"), "discount %40 today");
        assert_eq!(folded("https://x.io/a%20b"), "https://x.io/a%20b");
        assert_eq!(folded("https://x.io/a%2Fb"), "https://x.io/a/b");
        assert_eq!(
            folded("see x.io/a%20b?q=%22c%22"),
            "see x.io/a%20b?q=%22c%22"
        );
    }

    /// A query string or form body with no URL in it is decoded whole: the quotes and spaces of the
    /// JSON it carries too.
    #[test]
    fn decodes_a_query_string_whole() {
        assert_eq!(
            folded("q=%7B%22email%22%3A%20%22ana%40example.com%22%7D&x=1"),
            r#"q={"email": "ana@example.com"}&x=1"#
        );
        assert_eq!(folded("note=a%0Ab"), "note=a%0Ab");
    }

    #[test]
    fn spans_map_back_over_the_whole_obfuscated_value() {
        let text = "pay ４１１１\u{200B}1111 then";
        let n = Normalized::new(text);
        assert_eq!(n.text(), "pay 41111111 then");
        let span = n.original_span(4..12);
        assert_eq!(&text[span.clone()], "４１１１\u{200B}1111");
        assert_eq!(n.folds_in(span), Folds::COMPATIBILITY | Folds::INVISIBLE);
        // A dropped character at the edge of a span is not taken with it.
        let text = "a\u{200B}bc\u{200B}d";
        let n = Normalized::new(text);
        assert_eq!(&text[n.original_span(1..3)], "bc");
        assert_eq!(&text[n.original_span(0..4)], text);
        // A span ending inside an expansion takes the whole original character.
        let text = "x⑴y";
        let n = Normalized::new(text);
        assert_eq!(n.text(), "x(1)y");
        assert_eq!(&text[n.original_span(2..3)], "⑴");
        assert_eq!(n.folds_in(0..1), Folds::NONE);
        assert_eq!(n.folds_in(1..4), Folds::COMPATIBILITY);
    }

    #[test]
    fn escape_kinds_separate_ordinary_from_needless() {
        let n = Normalized::new("\\n\\u00e9\\u0041");
        assert_eq!(n.text(), "\néA");
        assert_eq!(n.folds_in(0..2), Folds::ESCAPE);
        assert_eq!(n.folds_in(2..8), Folds::ESCAPE);
        assert_eq!(n.folds_in(8..14), Folds::NEEDLESS_ESCAPE);
        assert!(Folds::ESCAPE.intersection(Folds::EVASIVE).is_empty());
        assert_eq!(
            (Folds::INVISIBLE | Folds::DIGIT).describe(),
            "invisible characters, another script's digits"
        );
    }

    #[test]
    fn broken_escapes_stay_as_written() {
        for text in [
            "\\u12",
            "\\ud83d alone",
            "\\x41",
            "&#xZZ;",
            "&#99999999;",
            "&bogus;",
            "q=%E2%82",
        ] {
            let n = Normalized::new(text);
            assert_eq!(n.text(), text, "{text:?}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// One way to write an ASCII letter or digit so that a plain pattern misses it.
        fn disguise(c: char, how: u8) -> String {
            let code = c as u32;
            match how % 8 {
                0 => c.to_string(),
                1 => char::from_u32(code - 0x21 + 0xFF01).map_or(c.to_string(), String::from),
                2 => format!("{c}\u{200B}"),
                3 => format!("\\u{code:04x}"),
                4 => format!("&#{code};"),
                5 => char::from_u32(code + 0xE0000).map_or(c.to_string(), String::from),
                6 => format!("\u{2060}{c}"),
                _ => match c.to_digit(10) {
                    Some(d) => char::from_u32(0x0660 + d).map_or(c.to_string(), String::from),
                    None => format!("{c}\u{0332}"),
                },
            }
        }

        fn context() -> impl Strategy<Value = String> {
            // Prose in several scripts, with characters that fold and some that look like escapes.
            proptest::collection::vec(
                prop_oneof![
                    "[a-z ]{1,8}",
                    Just("Grüße ".to_string()),
                    Just("東京 ".to_string()),
                    Just("\u{A0}".to_string()),
                    Just("— ".to_string()),
                    Just("50% ".to_string()),
                    Just("& ".to_string()),
                    Just("٣ ".to_string()),
                ],
                0..6,
            )
            .prop_map(|parts| parts.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// A planted value, disguised character by character, comes back whole, and its span in the
            /// normalised text maps to exactly the disguised bytes of the original.
            #[test]
            fn planted_values_map_back_exactly(
                value in "[a-z0-9]{4,24}",
                hows in proptest::collection::vec(any::<u8>(), 24),
                before in context(),
                after in context(),
            ) {
                let disguised: String =
                    value.chars().zip(&hows).map(|(c, &how)| disguise(c, how)).collect();
                let start = before.len() + 1;
                let text = format!("{before} {disguised} {after}");
                let n = Normalized::new(&text);
                let at = n.text().find(&format!(" {value} ")).map(|i| i + 1);
                prop_assert!(at.is_some(), "{value:?} not in {:?}", n.text());
                let at = at.unwrap_or_default();
                let span = n.original_span(at..at + value.len());
                // Invisible characters before the first letter and after the last are not part of the
                // value; a combining mark on the last letter is.
                let expected = disguised.trim_start_matches('\u{2060}').trim_end_matches('\u{200B}');
                prop_assert_eq!(&text[span.clone()], expected);
                prop_assert_eq!(span.start, start + (disguised.len() - disguised.trim_start_matches('\u{2060}').len()));
            }

            /// Any span of the normalised text maps to a range of the original on character boundaries,
            /// in order, and never outside it.
            #[test]
            fn spans_are_ordered_and_on_boundaries(
                text in "(\\PC|[\\\\%&#;u0-9a-f]){0,40}",
                cuts in proptest::collection::vec(any::<u16>(), 2),
            ) {
                let n = Normalized::new(&text);
                let len = n.text().len();
                // Detectors report spans on the normalised text's character boundaries.
                let boundary = |c: u16| {
                    let mut at = usize::from(c) % (len + 1);
                    while !n.text().is_char_boundary(at) {
                        at -= 1;
                    }
                    at
                };
                let mut cuts: Vec<usize> = cuts.iter().map(|&c| boundary(c)).collect();
                cuts.sort_unstable();
                let span = n.original_span(cuts[0]..cuts[1]);
                prop_assert!(span.start <= span.end && span.end <= text.len());
                prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
                let whole = n.original_span(0..len);
                prop_assert!(whole.start <= span.start && span.end <= whole.end);
                if !n.changed() {
                    prop_assert_eq!(n.text(), text.as_str());
                    prop_assert_eq!(span, cuts[0]..cuts[1]);
                }
            }
        }
    }
}
