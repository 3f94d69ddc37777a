//! Maps spans in the text a later plugin saw back to the original input, through earlier rewrites.
//!
//! Each edit records a range of the current text and the range of the original it replaced. A position
//! outside every edit moves by the edits before it; a position inside a replaced range widens to the whole
//! original range, because a replacement has no finer correspondence. After a plugin's `rewrite`, the whole
//! text is one edit, so later spans map to the whole original: coarse, but never wrong about what it covers.

use std::ops::Range;

#[derive(Clone, Debug, PartialEq)]
struct Edit {
    current: Range<usize>,
    original: Range<usize>,
}

impl Edit {
    /// This edit after the text before it moved: position `from` of the old text is `to` in the new one.
    fn moved(&self, from: usize, to: usize) -> Edit {
        Edit {
            current: self.current.start - from + to..self.current.end - from + to,
            original: self.original.clone(),
        }
    }
}

/// The edits between the original input and the current text, sorted and non-overlapping.
#[derive(Clone, Debug, Default)]
pub struct EditMap {
    edits: Vec<Edit>,
}

impl EditMap {
    /// The original range that `range` of the current text came from.
    pub fn to_original(&self, range: Range<usize>) -> Range<usize> {
        let start = self.map_point(range.start, true);
        let end = self.map_point(range.end, false).max(start);
        start..end
    }

    fn map_point(&self, at: usize, is_start: bool) -> usize {
        let mut shifted = at;
        for e in &self.edits {
            if at < e.current.start || (!is_start && at == e.current.start) {
                break;
            }
            if at >= e.current.end {
                shifted = at - e.current.end + e.original.end;
                continue;
            }
            return if is_start {
                e.original.start
            } else {
                e.original.end
            };
        }
        shifted
    }

    /// Where position `at` of the original text is in the current text: `Err` with the end of the
    /// replacement when `at` falls strictly inside a replaced range, which has no finer correspondence.
    pub fn to_current(&self, at: usize) -> Result<usize, usize> {
        let mut mapped = at;
        for e in &self.edits {
            if at <= e.original.start {
                break;
            }
            if at >= e.original.end {
                mapped = at - e.original.end + e.current.end;
                continue;
            }
            return Err(e.current.end);
        }
        Ok(mapped)
    }

    /// Applies `replacements` (sorted, non-overlapping ranges of `text`) and records them; returns the new text.
    ///
    /// A replacement that overlaps an earlier edit grows to cover all of it (and any other replacement
    /// that then overlaps): the part of an earlier replacement left standing has no finer correspondence
    /// to the original than the whole of it.
    pub fn apply(&mut self, text: &str, replacements: &[(Range<usize>, String)]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut edits = Vec::with_capacity(self.edits.len() + replacements.len());
        let mut old = self.edits.iter().peekable();
        let mut copied_to = 0;
        let mut next = 0;
        while let Some((first, _)) = replacements.get(next) {
            while let Some(e) = old.next_if(|e| e.current.end <= first.start) {
                edits.push(e.moved(copied_to, out.len()));
            }
            // One group: this replacement, the earlier edits it overlaps, and the replacements those reach.
            let mut group = first.clone();
            let mut end_of_group = next + 1;
            loop {
                let mut grew = false;
                while let Some(e) = old.next_if(|e| e.current.start < group.end) {
                    group = group.start.min(e.current.start)..group.end.max(e.current.end);
                    grew = true;
                }
                while let Some((r, _)) = replacements
                    .get(end_of_group)
                    .filter(|(r, _)| r.start < group.end)
                {
                    group.end = group.end.max(r.end);
                    end_of_group += 1;
                    grew = true;
                }
                if !grew {
                    break;
                }
            }
            let original = self.to_original(group.clone());
            out.push_str(&text[copied_to..group.start]);
            let start = out.len();
            let mut at = group.start;
            for (range, with) in &replacements[next..end_of_group] {
                out.push_str(&text[at..range.start]);
                out.push_str(with);
                at = range.end;
            }
            out.push_str(&text[at..group.end]);
            edits.push(Edit {
                current: start..out.len(),
                original,
            });
            copied_to = group.end;
            next = end_of_group;
        }
        for e in old {
            edits.push(e.moved(copied_to, out.len()));
        }
        out.push_str(&text[copied_to..]);
        self.edits = edits;
        out
    }

    /// Records that the whole text (`original_len` bytes originally) was replaced by `new_len` bytes.
    pub fn replace_all(&mut self, original_len: usize, new_len: usize) {
        self.edits = vec![Edit {
            current: 0..new_len,
            original: 0..original_len,
        }];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_spans_map_through_an_earlier_redaction() {
        let original = "mail a@b.co then 1234 x";
        let mut map = EditMap::default();
        let text = map.apply(original, &[(5..11, "[EMAIL_ADDRESS]".into())]);
        assert_eq!(text, "mail [EMAIL_ADDRESS] then 1234 x");
        let at = text.find("1234").unwrap();
        let mapped = map.to_original(at..at + 4);
        assert_eq!(&original[mapped], "1234");
        // A span over the redaction token widens to the original value.
        assert_eq!(map.to_original(6..8), 5..11);
        // And forwards: outside edits a position moves with them; inside one it has no image.
        assert_eq!(map.to_current(original.find("1234").unwrap()), Ok(at));
        assert_eq!(map.to_current(5), Ok(5));
        assert_eq!(map.to_current(11), Ok(20));
        assert_eq!(map.to_current(7), Err(20));
    }

    #[test]
    fn a_redaction_inside_an_earlier_one_keeps_the_rest_of_it_mapped_to_the_original() {
        let original = "mail a@b.co now";
        let mut map = EditMap::default();
        let text = map.apply(original, &[(5..11, "[EMAIL_ADDRESS]".into())]);
        // A later plugin cuts into the middle of the token and past it.
        let cut = text.find("ADDRESS] now").unwrap();
        let text = map.apply(&text, &[(cut..cut + 12, "X".into())]);
        assert_eq!(text, "mail [EMAIL_X");
        // What is left of the token is still the email, not "a@b.co" shifted.
        assert_eq!(&original[map.to_original(5..7)], "a@b.co now");
        assert_eq!(&original[map.to_original(0..5)], "mail ");
        // Two replacements inside one earlier edit become one edit.
        let mut map = EditMap::default();
        let text = map.apply("ab", &[(0..2, "0123456789".into())]);
        let text = map.apply(&text, &[(2..3, "x".into()), (6..8, "y".into())]);
        assert_eq!(text, "01x345y89");
        assert_eq!(map.to_original(0..1), 0..2);
    }

    #[test]
    fn edits_compose_across_two_rounds() {
        let original = "aa XX bb YY cc";
        let mut map = EditMap::default();
        let t1 = map.apply(original, &[(3..5, "[LONG_TOKEN]".into())]);
        let y = t1.find("YY").unwrap();
        let t2 = map.apply(&t1, &[(y..y + 2, "[Y]".into())]);
        assert_eq!(t2, "aa [LONG_TOKEN] bb [Y] cc");
        let cc = t2.find("cc").unwrap();
        assert_eq!(&original[map.to_original(cc..cc + 2)], "cc");
        let y2 = t2.find("[Y]").unwrap();
        assert_eq!(map.to_original(y2..y2 + 3), 9..11);
        // A second-round replacement over a first-round token covers the original range of both.
        let t3 = map.apply(&t2, &[(0..t2.find(" bb").unwrap(), "Z".into())]);
        assert_eq!(t3, "Z bb [Y] cc");
        assert_eq!(map.to_original(0..1), 0..5);
        assert_eq!(
            map.to_original(t3.find("[Y]").unwrap()..t3.find("[Y]").unwrap() + 3),
            9..11
        );
    }
}
