//! Values in delimited tables (CSV, TSV, `;`- or `|`-separated, Markdown): which column's header a byte
//! sits under, so that a detector can read `ssn` or `password` at the top of a column as the cue for the
//! values below it.

use std::ops::Range;

/// The longest line read as a table row (or searched for its start): a text of one long line (prose with
/// no breaks, minified JSON) would otherwise be read whole again for every value in it.
pub const MAX_ROW: usize = 4096;

/// The line around byte `at` (without its `\n`), if it is at most [`MAX_ROW`] bytes long.
fn line_around(text: &str, at: usize) -> Option<Range<usize>> {
    let from = text.floor_char_boundary(at.saturating_sub(MAX_ROW));
    let start = match text[from..at].rfind('\n') {
        Some(i) => from + i + 1,
        None if from == 0 => 0,
        None => return None,
    };
    let to = text.ceil_char_boundary((start + MAX_ROW).min(text.len()));
    let end = match text[at..to].find('\n') {
        Some(i) => at + i,
        None if to == text.len() => to,
        None => return None,
    };
    Some(start..end)
}

/// A run of lines with the same number of the same delimiter: one table, found once per text.
#[derive(Clone, Debug)]
struct Table {
    delimiter: char,
    delimiters: usize,
    /// From the start of its first line to the end of the last line seen so far.
    lines: Range<usize>,
    /// Its header line: the first line, unless it is a Markdown rule (`|---|`) or holds values — then,
    /// if the line just above holds more delimiters, that line, read from the right (a CSV file inside a
    /// JSON string starts on the line that opens the string).
    header: Option<Range<usize>>,
}

/// The tables found in the text being scanned, so that each line is walked once however many values a
/// long export holds. Keyed by the text's address and length, and cleared whenever a scan starts.
struct Tables {
    text: (usize, usize),
    found: Vec<Table>,
}

thread_local! {
    static TABLES: std::cell::RefCell<Tables> = const {
        std::cell::RefCell::new(Tables { text: (0, 0), found: Vec::new() })
    };
}

/// Forgets the tables of the previous text: call it when a scan starts.
pub fn forget_tables() {
    TABLES.with(|t| t.borrow_mut().found.clear());
}

/// At most this many tables are remembered per text; past it, each lookup walks again.
const MAX_TABLES: usize = 256;

/// The delimiter a line of a table is read by: tab, `|`, `,` or `;`, the first of them it holds.
pub fn delimiter(line: &str) -> Option<char> {
    ['\t', '|', ',', ';']
        .into_iter()
        .find(|&d| line.contains(d))
}

/// The header cell of the column that byte `at` is in, when its line is a row of a delimited table (CSV,
/// TSV, `;`- or `|`-separated, Markdown) under a header line with as many delimiters — however far above.
pub fn column_header(text: &str, at: usize) -> Option<&str> {
    let line = line_around(text, at)?;
    // A header is a line above the row: the first line (a text of one line, most prompts) is in no column.
    if line.start == 0 {
        return None;
    }
    let row = &text[line.clone()];
    let delimiter = delimiter(row)?;
    let delimiters = row.matches(delimiter).count();
    let column = text[line.start..at].matches(delimiter).count();
    let header = table_of(text, line.clone(), delimiter, delimiters)
        .header
        .filter(|h| h.start != line.start)?;
    let cells: Vec<&str> = text[header].split(delimiter).collect();
    // As many cells as the row, or more (the wider line above a table): counted from the right.
    let cell = cells
        .get((cells.len() + column).checked_sub(delimiters + 1)?)?
        .trim()
        .trim_matches('"');
    (cell.len() <= 48).then_some(cell)
}

/// The table the line `line` belongs to: remembered, or found by walking up until a line has another
/// delimiter count or ends a table already found.
fn table_of(text: &str, line: Range<usize>, delimiter: char, delimiters: usize) -> Table {
    let key = (text.as_ptr() as usize, text.len());
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        if tables.text != key {
            tables.text = key;
            tables.found.clear();
        }
        let same = |t: &Table| t.delimiter == delimiter && t.delimiters == delimiters;
        if let Some(t) = tables
            .found
            .iter_mut()
            .find(|t| same(t) && t.lines.start <= line.start && line.start <= t.lines.end + 1)
        {
            t.lines.end = t.lines.end.max(line.end);
            return t.clone();
        }
        let mut first = line.clone();
        let mut wider = None;
        while let Some(end) = first.start.checked_sub(1) {
            if let Some(t) = tables
                .found
                .iter_mut()
                .find(|t| same(t) && t.lines.end == end)
            {
                t.lines.end = line.end;
                return t.clone();
            }
            let Some(Range { start, .. }) = line_around(text, end) else {
                break;
            };
            let count = text[start..end].matches(delimiter).count();
            if count != delimiters {
                wider = (count > delimiters).then_some(start..end);
                break;
            }
            first = start..end;
        }
        let first_line = &text[first.clone()];
        let is_rule = first_line
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '+'));
        // A header names its columns: a line with a cell that starts with a digit, or with a run of five
        // digits anywhere (`"acct_no": "4720…",` in pretty-printed JSON, one comma a line), holds values.
        let values = first_line
            .split(delimiter)
            .any(|cell| cell.trim().starts_with(|c: char| c.is_ascii_digit()))
            || first_line
                .as_bytes()
                .windows(5)
                .any(|w| w.iter().all(u8::is_ascii_digit));
        let header = match wider {
            _ if is_rule => None,
            Some(wider) if values => Some(wider),
            _ => (!values).then_some(first.clone()),
        };
        let table = Table {
            delimiter,
            delimiters,
            lines: first.start..line.end,
            header,
        };
        if tables.found.len() < MAX_TABLES {
            tables.found.push(table.clone());
        }
        table
    })
}
