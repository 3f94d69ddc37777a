//! The network, as thinc runs it: hash embeddings of four features mixed by a maxout layer, four
//! residual maxout CNN layers over a window of one token each side, a projection to 64 wide, and the
//! transition model's precomputed hidden layer and output layer.
//!
//! Each layer runs over all of a text's tokens at once ([`gemm`]), so a weight is read once per four
//! tokens rather than once per token: the weights (6 MB) do not fit a cache, the activations do.

use wide::f32x4;

use crate::data::DataFile;
use crate::hash::murmur3_u64;
use crate::lexeme::Features;
use crate::model::LoadError;

const WIDTH: usize = 96;
const PIECES: usize = 3;
/// The state features of spaCy's NER: the next token, the open entity's first token, the token before
/// the next one (the entity's last so far).
pub(crate) const STATE_FEATURES: usize = 3;

/// `out (n × m) = x (n × k) · w (m × k)ᵀ + bias`, all row-major: each weight row is read once for four
/// rows of `x` and dotted with all four in four lanes, which the compiler keeps in vector registers (SSE
/// natively, simd128 in Wasm).
fn gemm(x: &[f32], n: usize, k: usize, w: &[f32], m: usize, bias: &[f32], out: &mut [f32]) {
    const R: usize = 4;
    const O: usize = 2;
    let k4 = k / 4 * 4;
    let lanes =
        |s: &[f32], i: usize| f32x4::from(<[f32; 4]>::try_from(&s[i..i + 4]).unwrap_or_default());
    for r0 in (0..n).step_by(R) {
        let rows = R.min(n - r0);
        // A short tile repeats its first row (or weight row); those sums are not written.
        let xs: [&[f32]; R] =
            std::array::from_fn(|r| &x[(r0 + if r < rows { r } else { 0 }) * k..][..k]);
        for o0 in (0..m).step_by(O) {
            let outs = O.min(m - o0);
            let ws: [&[f32]; O] =
                std::array::from_fn(|o| &w[(o0 + if o < outs { o } else { 0 }) * k..][..k]);
            let mut acc = [[f32x4::ZERO; O]; R];
            for i in (0..k4).step_by(4) {
                let wv: [f32x4; O] = std::array::from_fn(|o| lanes(ws[o], i));
                for (acc, xr) in acc.iter_mut().zip(&xs) {
                    let xv = lanes(xr, i);
                    for (a, wv) in acc.iter_mut().zip(&wv) {
                        *a += xv * *wv;
                    }
                }
            }
            for (r, (acc, xr)) in acc.iter().zip(&xs).enumerate().take(rows) {
                for (o, (a, wr)) in acc.iter().zip(&ws).enumerate().take(outs) {
                    let tail: f32 = xr[k4..].iter().zip(&wr[k4..]).map(|(a, b)| a * b).sum();
                    out[(r0 + r) * m + o0 + o] = a.reduce_add() + tail + bias[o0 + o];
                }
            }
        }
    }
}

/// A maxout layer (96 outputs of three pieces) followed by LayerNorm, as Maxout(normalize=True).
struct Maxout {
    /// (nO·nP, nI), as thinc's (nO, nP, nI).
    w: Vec<f32>,
    b: Vec<f32>,
    n_in: usize,
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

    /// `n` rows of `x` to `n` rows of `out` (96 wide); `scratch` holds the pieces.
    fn forward(&self, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        scratch.resize(n * WIDTH * PIECES, 0.0);
        gemm(x, n, self.n_in, &self.w, WIDTH * PIECES, &self.b, scratch);
        for (row, pieces) in out
            .chunks_exact_mut(WIDTH)
            .zip(scratch.chunks_exact(WIDTH * PIECES))
            .take(n)
        {
            for (o, p) in row.iter_mut().zip(pieces.chunks_exact(PIECES)) {
                *o = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            }
            layer_norm(row, &self.g, &self.nb);
        }
    }
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
    /// Each feature's table (rows × 96), its row count and its hash seed.
    embed: Vec<(Vec<f32>, usize, u32)>,
    mix: Maxout,
    encode: Vec<Maxout>,
    window_pad: usize,
    /// (64, 96) and 64.
    project_w: Vec<f32>,
    project_b: Vec<f32>,
    hidden: usize,
    hidden_pieces: usize,
    /// (nF·nH·nP, nI), as thinc's (nF, nH, nP, nI).
    lower_w: Vec<f32>,
    lower_b: Vec<f32>,
    lower_pad: Vec<f32>,
    /// (classes, nH), read one row per move.
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
            if rows == 0 {
                return Err(LoadError::Tensor(format!("{name} has no rows")));
            }
            embed.push((data.tensor(&name, &[rows, WIDTH])?, rows, seed));
        }
        let mix = Maxout::load(data, 0, 4 * WIDTH)?;
        let encode = (1..=4)
            .map(|i| Maxout::load(data, i, 3 * WIDTH))
            .collect::<Result<_, _>>()?;
        let hidden_in = data.shape("project.W")?.first().copied().unwrap_or(0);
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

    /// Each token's contribution to the hidden layer, for each state feature: (token, feature, nH·nP),
    /// from the token vectors the CNN makes of the features.
    pub fn precompute(&self, features: &[Features]) -> Vec<f32> {
        let n = features.len();
        let pad = self.window_pad;
        // Rows of zeros on each side, as thinc's with_array(pad=4) flattens a doc, so the CNN's edges see
        // what spaCy's do.
        let rows = n + 2 * pad;
        let mut concat = vec![0f32; n * 4 * WIDTH];
        for (t, feats) in features.iter().enumerate() {
            for (f, (table, nrows, seed)) in self.embed.iter().enumerate() {
                let out = &mut concat[(t * 4 + f) * WIDTH..][..WIDTH];
                for key in murmur3_u64(feats[f], *seed) {
                    let row = &table[(key as usize % nrows) * WIDTH..][..WIDTH];
                    out.iter_mut().zip(row).for_each(|(o, r)| *o += r);
                }
            }
        }
        let mut scratch = Vec::new();
        let mut x = vec![0f32; rows * WIDTH];
        self.mix
            .forward(&concat, n, &mut x[pad * WIDTH..], &mut scratch);
        // Each layer reads [previous, this, next] rows (zeros past either end) and adds what it makes.
        // A padding row matters only while what it makes can still reach a token: layer l (of L) runs
        // over the tokens and L - 1 - l padding rows each side, which gives the tokens exactly what
        // running every row would.
        let mut window = vec![0f32; rows * 3 * WIDTH];
        let mut y = vec![0f32; rows * WIDTH];
        let layers = self.encode.len();
        for (l, layer) in self.encode.iter().enumerate() {
            let reach = (layers - 1 - l).min(pad);
            let (first, count) = (pad - reach, n + 2 * reach);
            for (j, w) in window.chunks_exact_mut(3 * WIDTH).take(count).enumerate() {
                let i = first + j;
                w.fill(0.0);
                if i > 0 {
                    w[..WIDTH].copy_from_slice(&x[(i - 1) * WIDTH..][..WIDTH]);
                }
                w[WIDTH..2 * WIDTH].copy_from_slice(&x[i * WIDTH..][..WIDTH]);
                if i + 1 < rows {
                    w[2 * WIDTH..].copy_from_slice(&x[(i + 1) * WIDTH..][..WIDTH]);
                }
            }
            layer.forward(&window, count, &mut y, &mut scratch);
            x[first * WIDTH..(first + count) * WIDTH]
                .iter_mut()
                .zip(&y)
                .for_each(|(a, b)| *a += b);
        }
        let hidden_in = self.project_b.len();
        let mut tokvecs = vec![0f32; n * hidden_in];
        gemm(
            &x[pad * WIDTH..],
            n,
            WIDTH,
            &self.project_w,
            hidden_in,
            &self.project_b,
            &mut tokvecs,
        );
        let stride = STATE_FEATURES * self.hidden * self.hidden_pieces;
        let mut cached = vec![0f32; n * stride];
        gemm(
            &tokvecs,
            n,
            hidden_in,
            &self.lower_w,
            stride,
            &vec![0f32; stride],
            &mut cached,
        );
        cached
    }

    /// The scores of every move for a state whose features are the tokens `ids` (-1: none).
    pub fn scores(&self, cached: &[f32], ids: [isize; STATE_FEATURES], scores: &mut [f32]) {
        let (h, p) = (self.hidden, self.hidden_pieces);
        let width = h * p;
        let mut unmaxed = vec![0f32; width];
        for (f, &id) in ids.iter().enumerate() {
            let feature = match usize::try_from(id) {
                Ok(id) => &cached[(id * STATE_FEATURES + f) * width..][..width],
                Err(_) => &self.lower_pad[f * width..][..width],
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
            let row = &self.upper_w[c * h..][..h];
            *score = row.iter().zip(&hidden).map(|(w, x)| w * x).sum::<f32>() + self.upper_b[c];
        }
    }
}
