//! The network, as thinc runs it: hash embeddings of four features mixed by a maxout layer, four
//! residual maxout CNN layers over a window of one token each side, a projection to 64 wide, and the
//! transition model's precomputed hidden layer and output layer.

use crate::data::DataFile;
use crate::hash::murmur3_u64;
use crate::lexeme::Features;
use crate::model::LoadError;

const WIDTH: usize = 96;
const PIECES: usize = 3;
/// The state features of spaCy's NER: the next token, the open entity's first token, the token before
/// the next one (the entity's last so far).
pub(crate) const STATE_FEATURES: usize = 3;

struct Maxout {
    /// (nO, nP, nI), row-major.
    w: Vec<f32>,
    b: Vec<f32>,
    n_in: usize,
    /// LayerNorm's gain and bias, applied after the maxout.
    g: Vec<f32>,
    nb: Vec<f32>,
}

impl Maxout {
    fn load(data: &DataFile, i: usize, n_in: usize) -> Result<Maxout, LoadError> {
        Ok(Maxout {
            w: data.tensor(&format!("maxout.{i}.W"), &[WIDTH, PIECES, n_in])?,
            b: data.tensor(&format!("maxout.{i}.b"), &[WIDTH, PIECES])?,
            n_in,
            g: data.tensor(&format!("norm.{i}.G"), &[WIDTH])?,
            nb: data.tensor(&format!("norm.{i}.b"), &[WIDTH])?,
        })
    }

    /// Maxout then LayerNorm of one row, into `out`.
    fn forward(&self, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(x.len(), self.n_in);
        for (o, slot) in out.iter_mut().enumerate().take(WIDTH) {
            let mut best = f32::NEG_INFINITY;
            for p in 0..PIECES {
                let row = &self.w[(o * PIECES + p) * self.n_in..][..self.n_in];
                let y = dot(row, x) + self.b[o * PIECES + p];
                if y > best {
                    best = y;
                }
            }
            *slot = best;
        }
        layer_norm(&mut out[..WIDTH], &self.g, &self.nb);
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight partial sums: the order differs from BLAS's anyway, and this lets the compiler vectorise.
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
        sum += x * y;
    }
    sum
}

fn layer_norm(x: &mut [f32], g: &[f32], b: &[f32]) {
    let n = x.len() as f32;
    let mu = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mu) * (v - mu)).sum::<f32>() / n + 1e-8;
    let scale = var.powf(-0.5);
    for ((v, g), b) in x.iter_mut().zip(g).zip(b) {
        *v = (*v - mu) * scale * g + b;
    }
}

pub(crate) struct Net {
    embed: Vec<(Vec<f32>, usize, u32)>,
    mix: Maxout,
    encode: Vec<Maxout>,
    window_pad: usize,
    project_w: Vec<f32>,
    project_b: Vec<f32>,
    hidden: usize,
    hidden_pieces: usize,
    /// (nF, nH, nP, nI)
    lower_w: Vec<f32>,
    lower_b: Vec<f32>,
    lower_pad: Vec<f32>,
    upper_w: Vec<f32>,
    upper_b: Vec<f32>,
    pub classes: usize,
}

impl Net {
    pub fn load(data: &DataFile) -> Result<Net, LoadError> {
        let header = &data.header;
        if header.features.len() != 4 || header.seeds.len() != 4 {
            return Err(LoadError::Header(
                "expected four features with a seed each".into(),
            ));
        }
        let mut embed = Vec::new();
        for (i, &seed) in header.seeds.iter().enumerate() {
            let name = format!("embed.{i}");
            let rows = *data.shape(&name)?.first().unwrap_or(&0);
            embed.push((data.tensor(&name, &[rows, WIDTH])?, rows, seed));
        }
        let mix = Maxout::load(data, 0, 4 * WIDTH)?;
        let encode = (1..=4)
            .map(|i| Maxout::load(data, i, 3 * WIDTH))
            .collect::<Result<_, _>>()?;
        let project_shape = data.shape("project.W")?.to_vec();
        let hidden_in = project_shape.first().copied().unwrap_or(0);
        let lower_shape = data.shape("lower.W")?.to_vec();
        let [nf, hidden, pieces, n_in] = lower_shape[..] else {
            return Err(LoadError::Tensor("lower.W is not four-dimensional".into()));
        };
        if nf != STATE_FEATURES || n_in != hidden_in {
            return Err(LoadError::Tensor(format!(
                "lower.W has shape {lower_shape:?}"
            )));
        }
        let classes = header.moves.len();
        Ok(Net {
            embed,
            mix,
            encode,
            window_pad: header.window_pad,
            project_w: data.tensor("project.W", &[hidden_in, WIDTH])?,
            project_b: data.tensor("project.b", &[hidden_in])?,
            hidden,
            hidden_pieces: pieces,
            lower_w: data.tensor("lower.W", &[nf, hidden, pieces, n_in])?,
            lower_b: data.tensor("lower.b", &[hidden, pieces])?,
            lower_pad: data.tensor("lower.pad", &[1, nf, hidden, pieces])?,
            upper_w: data.tensor("upper.W", &[classes, hidden])?,
            upper_b: data.tensor("upper.b", &[classes])?,
            classes,
        })
    }

    /// The token vectors (64 wide) the transition model reads, one row per token.
    pub fn tok2vec(&self, features: &[Features]) -> Vec<Vec<f32>> {
        let n = features.len();
        let pad = self.window_pad;
        // Rows of zeros on each side, as thinc's with_array(pad=4) flattens a doc, so the CNN's edges see
        // what spaCy's do.
        let mut rows = vec![vec![0f32; WIDTH]; n + 2 * pad];
        let mut concat = vec![0f32; 4 * WIDTH];
        for (t, feats) in features.iter().enumerate() {
            for (f, (table, nrows, seed)) in self.embed.iter().enumerate() {
                let keys = murmur3_u64(feats[f], *seed);
                let out = &mut concat[f * WIDTH..(f + 1) * WIDTH];
                out.fill(0.0);
                for key in keys {
                    let row = &table[(key as usize % nrows) * WIDTH..][..WIDTH];
                    out.iter_mut().zip(row).for_each(|(o, r)| *o += r);
                }
            }
            self.mix.forward(&concat, &mut rows[pad + t]);
        }
        let mut window = vec![0f32; 3 * WIDTH];
        let mut out = vec![0f32; WIDTH];
        for layer in &self.encode {
            let before = rows.clone();
            for i in 0..rows.len() {
                window.fill(0.0);
                if i > 0 {
                    window[..WIDTH].copy_from_slice(&before[i - 1]);
                }
                window[WIDTH..2 * WIDTH].copy_from_slice(&before[i]);
                if i + 1 < before.len() {
                    window[2 * WIDTH..].copy_from_slice(&before[i + 1]);
                }
                layer.forward(&window, &mut out);
                rows[i].iter_mut().zip(&out).for_each(|(r, o)| *r += o);
            }
        }
        let hidden_in = self.project_b.len();
        rows[pad..pad + n]
            .iter()
            .map(|x| {
                (0..hidden_in)
                    .map(|o| dot(&self.project_w[o * WIDTH..][..WIDTH], x) + self.project_b[o])
                    .collect()
            })
            .collect()
    }

    /// Each token's contribution to the hidden layer, for each state feature: (token, feature, nH*nP).
    pub fn precompute(&self, tokvecs: &[Vec<f32>]) -> Vec<f32> {
        let (h, p) = (self.hidden, self.hidden_pieces);
        let n_in = self.project_b.len();
        let stride = STATE_FEATURES * h * p;
        let mut out = vec![0f32; tokvecs.len() * stride];
        for (t, x) in tokvecs.iter().enumerate() {
            for (r, slot) in out[t * stride..(t + 1) * stride].iter_mut().enumerate() {
                *slot = dot(&self.lower_w[r * n_in..][..n_in], x);
            }
        }
        out
    }

    /// The scores of every move for a state whose features are the tokens `ids` (-1: none).
    pub fn scores(&self, cached: &[f32], ids: [isize; STATE_FEATURES], scores: &mut [f32]) {
        let (h, p) = (self.hidden, self.hidden_pieces);
        let width = h * p;
        let mut unmaxed = vec![0f32; width];
        for (f, &id) in ids.iter().enumerate() {
            let feature = if id < 0 {
                &self.lower_pad[f * width..][..width]
            } else {
                &cached[(id as usize * STATE_FEATURES + f) * width..][..width]
            };
            unmaxed.iter_mut().zip(feature).for_each(|(u, v)| *u += v);
        }
        unmaxed
            .iter_mut()
            .zip(&self.lower_b)
            .for_each(|(u, b)| *u += b);
        let hidden: Vec<f32> = unmaxed
            .chunks_exact(p)
            .map(|pieces| pieces.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect();
        for (c, score) in scores.iter_mut().enumerate().take(self.classes) {
            *score = dot(&self.upper_w[c * h..][..h], &hidden) + self.upper_b[c];
        }
    }
}
