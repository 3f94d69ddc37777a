//! spaCy's greedy BILUO decoder for NER (`pipeline/_parser_internals/ner.pyx`), for a document with no
//! preset entities and no sentence boundaries: at each token, the best-scoring move that is valid.

use crate::model::LoadError;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Begin,
    In,
    Last,
    Unit,
    Out,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Move {
    kind: Kind,
    /// Index into the labels; None for `O` and the label-less `U-`, which is never valid here.
    label: Option<usize>,
}

pub(crate) struct Moves {
    pub moves: Vec<Move>,
    pub labels: Vec<String>,
}

impl Moves {
    pub fn parse(names: &[String]) -> Result<Moves, LoadError> {
        let mut labels: Vec<String> = Vec::new();
        if names.len() > 256 {
            return Err(LoadError::Header(format!(
                "{} moves; at most 256",
                names.len()
            )));
        }
        let mut moves = Vec::with_capacity(names.len());
        for name in names {
            if name == "O" {
                moves.push(Move {
                    kind: Kind::Out,
                    label: None,
                });
                continue;
            }
            let (kind, label) = name
                .split_once('-')
                .ok_or_else(|| LoadError::Header(format!("move {name:?}")))?;
            let kind = match kind {
                "B" => Kind::Begin,
                "I" => Kind::In,
                "L" => Kind::Last,
                "U" => Kind::Unit,
                _ => return Err(LoadError::Header(format!("move {name:?}"))),
            };
            let label = if label.is_empty() {
                None
            } else {
                Some(labels.iter().position(|l| l == label).unwrap_or_else(|| {
                    labels.push(label.to_owned());
                    labels.len() - 1
                }))
            };
            moves.push(Move { kind, label });
        }
        Ok(Moves { moves, labels })
    }
}

/// An entity: tokens [start, end) and a label index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub label: usize,
    /// The least probability among the entity's moves (softmax over the moves valid at each step).
    pub confidence: f32,
}

pub(crate) struct State {
    len: usize,
    next: usize,
    /// The open entity: first token, label, confidence so far.
    open: Option<(usize, usize, f32)>,
    pub ents: Vec<Span>,
}

impl State {
    pub fn new(len: usize) -> State {
        State {
            len,
            next: 0,
            open: None,
            ents: Vec::new(),
        }
    }

    pub fn is_final(&self) -> bool {
        self.next >= self.len
    }

    /// `set_context_tokens` with three features.
    pub fn features(&self) -> [isize; 3] {
        let b0 = if self.next < self.len {
            self.next as isize
        } else {
            -1
        };
        let e0 = self.open.map_or(-1, |(start, _, _)| start as isize);
        let last = if b0 == -1 || e0 == -1 { -1 } else { b0 - 1 };
        [b0, e0, last]
    }

    fn is_valid(&self, m: Move, is_space: &[bool]) -> bool {
        let buffer = self.len - self.next;
        let space = is_space.get(self.next).copied().unwrap_or(false);
        match (m.kind, m.label) {
            (Kind::Out, _) => self.open.is_none(),
            (_, None) => false,
            (Kind::Begin, Some(_)) => self.open.is_none() && buffer >= 2 && !space,
            (Kind::In, Some(label)) => buffer >= 2 && self.open.is_some_and(|(_, l, _)| l == label),
            (Kind::Last, Some(label)) => self.open.is_some_and(|(_, l, _)| l == label),
            (Kind::Unit, Some(_)) => self.open.is_none() && !space,
        }
    }

    fn apply(&mut self, m: Move, p: f32) {
        match (m.kind, m.label) {
            (Kind::Begin, Some(label)) => self.open = Some((self.next, label, p)),
            (Kind::In, _) => {
                if let Some(open) = &mut self.open {
                    open.2 = open.2.min(p);
                }
            }
            (Kind::Last, _) => {
                if let Some((start, label, q)) = self.open.take() {
                    self.ents.push(Span {
                        start,
                        end: self.next + 1,
                        label,
                        confidence: q.min(p),
                    });
                }
            }
            (Kind::Unit, Some(label)) => self.ents.push(Span {
                start: self.next,
                end: self.next + 1,
                label,
                confidence: p,
            }),
            _ => {}
        }
        self.next += 1;
    }

    /// Takes the best valid move (the first of equals, as `arg_max_if_valid`); false if none is valid.
    pub fn step(&mut self, moves: &Moves, scores: &[f32], is_space: &[bool]) -> bool {
        let mut best: Option<usize> = None;
        let mut valid = [false; 256];
        for (i, &m) in moves.moves.iter().enumerate() {
            valid[i] = self.is_valid(m, is_space);
            if valid[i] && best.is_none_or(|b| scores[i] > scores[b]) {
                best = Some(i);
            }
        }
        match best {
            Some(i) => {
                let top = scores[i];
                let total: f32 = (0..moves.moves.len())
                    .filter(|&j| valid[j])
                    .map(|j| (scores[j] - top).exp())
                    .sum();
                self.apply(moves.moves[i], 1.0 / total);
                true
            }
            None => {
                self.next = self.len;
                false
            }
        }
    }
}
