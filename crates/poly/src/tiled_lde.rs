//! The wide coset LDE on our own cache-tiled radix-2 network, byte-identical to p3's (the
//! [`crate::lde`] oracle) and in PROTOCOL.md §2's layout.
//!
//! Why not p3's parallel DIT for wide traces: each layer of its first half runs over chunks of
//! 2^⌈n/2⌉ whole rows (10.8 MB for keccak's 2633 columns at 2^17 rows, 21.6 MB at 2^19), which
//! outgrow the last-level cache of a many-core host, and it permutes the whole matrix four
//! times. Here:
//! - the inverse DFT is a radix-2 DIT whose first pass gathers the trace rows in bit-reversed
//!   order (the only permutation) and scales them by 1/N: natural-order coefficients;
//! - coset block k of the LDE is a DIF-shaped network over those coefficients whose per-block
//!   twiddles absorb the coset shift ([`Network::ShiftedDif`]): its output is already in
//!   bit-reversed order, the LDE's row order.
//!
//! A *pass* runs L ≤ [`pass_layers`] consecutive layers on tiles of 2^L rows (the rows those
//! layers connect) × C columns, sized to stay in a core's L2; a DFT of 2^n rows is
//! ⌈n / pass_layers⌉ passes over the matrix. The coefficients live in the output's last
//! block (the last coset is then computed in place), so no scratch matrix is needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use p3_field::{Field, PackedValue};
use rayon::prelude::*;
use rstark_field::{F, GENERATOR, PrimeCharacteristicRing, omega};

use crate::bit_reverse;

type PackedF = <F as Field>::Packing;

/// Most layers one pass runs on a tile (2^9 rows), whatever the cache (see [`pass_layers`]).
const MAX_PASS_LAYERS: usize = 9;

/// Bytes a tile of 2^L rows × C columns aims at: half a core's L2 (see [`tile_bytes`]), within
/// these bounds. On the 16-core H200 host (2 MiB of L2 a core) 1 MiB tiles measured 10% faster
/// than 256 KiB ones (PERF.md, session 13).
const MIN_TILE_BYTES: usize = 128 << 10;
const MAX_TILE_BYTES: usize = 2 << 20;
/// Without a cache size to read (not Linux, or no sysfs): a 2 MiB L2.
const DEFAULT_L2_BYTES: usize = 2 << 20;

/// Narrowest and widest tile strip, in columns (multiples of the packed width).
const MIN_TILE_COLS: usize = 8;
const MAX_TILE_COLS: usize = 512;

/// The matrix being transformed, shared by the tasks of a pass through a raw pointer: each task
/// touches only its own tile (a set of rows × a range of columns), disjoint from every other
/// task's in the same pass.
#[derive(Clone, Copy)]
struct Shared {
    ptr: *mut F,
    width: usize,
}

// SAFETY: the pointer is only dereferenced through `segment`, whose callers hold disjoint tiles.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// Columns c0..c1 of `row`.
    ///
    /// # Safety
    /// The row lies inside the allocation, c0 ≤ c1 ≤ width, and no other live reference covers
    /// any of these elements (the tiles of one pass are disjoint).
    unsafe fn segment<'a>(self, row: usize, c0: usize, c1: usize) -> &'a mut [F] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(row * self.width + c0), c1 - c0) }
    }

    /// Columns c0..c1 of `row`, to read.
    ///
    /// # Safety
    /// As [`segment`](Self::segment), except that other shared references may cover them.
    unsafe fn segment_ref(&self, row: usize, c0: usize, c1: usize) -> &[F] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(self.ptr.add(row * self.width + c0), c1 - c0) }
    }
}

/// The LDE's row consumer: `consume(first_row, rows)`.
type Consumer<'a> = &'a (dyn Fn(usize, &[F]) + Sync);

/// Twiddle tables by (log_n, inverse).
type TwiddleCache = Mutex<HashMap<(usize, bool), Arc<Vec<F>>>>;

/// Which radix-2 network a pass runs, with its twiddles.
#[derive(Clone, Copy)]
enum Network<'a> {
    /// Cooley–Tukey: bit-reversed input to natural output, layers of half-size 1, 2, 4, …;
    /// the pair (j, j + h) of a block takes ω_{2h}^j, from `twiddles[t]` = ω_N^t (t < N/2).
    Dit { twiddles: &'a [F] },
    /// Natural-order coefficients to the evaluations on the coset s·H in bit-reversed order,
    /// layers of half-size N/2, N/4, …, each butterfly (u, v) → (u + t·v, u − t·v) with one
    /// twiddle per block of 2h rows. Block q (an m = log(N/2h)-bit index) holds a polynomial
    /// P = A + x^h·B of degree < 2h to be evaluated on the points s_q·⟨ω_N^(N/2h)⟩ with
    /// s_q = s·ω_N^bitrev_m(q); there x^h = ±s_q^h, so the block splits into A + s_q^h·B (its
    /// first half, shift s_q) and A − s_q^h·B (its second, shift s_q·ω_N^(N/4h)): t = s_q^h =
    /// `shift_pows[log h]`·ω_N^(bitrev_m(q)·h). The coset shift costs no product per value.
    /// `twiddles[t]` = ω_N^t, `shift_pows[l]` = s^(2^l).
    ShiftedDif {
        twiddles: &'a [F],
        shift_pows: &'a [F],
    },
}

impl Network<'_> {
    /// Whether the network runs its layers from half-size 1 up.
    fn ascending(&self) -> bool {
        matches!(self, Network::Dit { .. })
    }

    /// The twiddle of the pair whose first row is `row`, in the layer of half-size 2^l
    /// (2^log_n rows).
    #[inline(always)]
    fn twiddle(&self, row: usize, l: usize, log_n: usize) -> F {
        match *self {
            Network::Dit { twiddles } => {
                let j = row & ((1usize << l) - 1);
                twiddles[j << (log_n - 1 - l)]
            }
            Network::ShiftedDif {
                twiddles,
                shift_pows,
            } => {
                let m = log_n - 1 - l;
                let q = row >> (l + 1);
                shift_pows[l] * twiddles[bit_reverse(q, m) << l]
            }
        }
    }
}

/// What a pass's tiles hold before its first layer.
#[derive(Clone, Copy)]
enum Load {
    /// The tile's rows as they are (in place).
    InPlace,
    /// Row r of the tile takes `src`'s row bitrev(r) times `scale` (the inverse DFT's first
    /// pass; the scale is 1/N).
    BitReversed(Shared, F),
}

/// The coset LDE of the 2^log_n × `width` matrix in `src` (natural order on H) into `dst`,
/// which has room for 2^(log_n + log_blowup) rows: row j of the output holds the values at
/// `lde_point(j, log_n + log_blowup)`. `src` is either a separate trace or `dst`'s first block
/// (the trace given by value). `consume(first_row, rows)` gets every output row once, in blocks
/// of whole rows (an even number starting at an even row), from several threads at once.
///
/// # Safety
/// `dst` is valid for writes of 2^(log_n + log_blowup) · width elements and `src` for reads of
/// 2^log_n · width; they are the same pointer or do not overlap; nothing else accesses either
/// during the call.
pub(crate) unsafe fn tiled_coset_lde(
    src: *const F,
    dst: *mut F,
    width: usize,
    log_n: usize,
    log_blowup: usize,
    consume: Consumer<'_>,
) {
    assert!(log_n >= 2 && log_blowup >= 1 && width > 0);
    let n = 1usize << log_n;
    let blocks = 1usize << log_blowup;
    let at_block = |k: usize| Shared {
        // SAFETY: block k < blocks lies inside `dst` (the caller's contract).
        ptr: unsafe { dst.add(k * n * width) },
        width,
    };
    let coeffs = at_block(blocks - 1);
    let source = Shared {
        ptr: src.cast_mut(),
        width,
    };
    // Block k: the coset s_k·H, s_k = g·ω_{N·B}^bitrev(k) (the LDE's row order).
    let shift_pows: Vec<Vec<F>> = (0..blocks)
        .map(|k| {
            let mut x =
                GENERATOR * omega(log_n + log_blowup).exp_u64(bit_reverse(k, log_blowup) as u64);
            (0..log_n)
                .map(|_| {
                    let p = x;
                    x = x.square();
                    p
                })
                .collect()
        })
        .collect();
    let forward = twiddles(log_n, false);
    let difs: Vec<(Shared, Network<'_>)> = shift_pows
        .iter()
        .enumerate()
        .map(|(k, shift_pows)| {
            let net = Network::ShiftedDif {
                twiddles: &forward,
                shift_pows,
            };
            (at_block(k), net)
        })
        .collect();
    // The inverse DFT's passes (ascending), the coefficients in the last block, natural order;
    // its last pass also runs every block's first (descending) pass, on the same row sets.
    let inverse = twiddles(log_n, true);
    let dit = Network::Dit { twiddles: &inverse };
    let n_inv = F::from_usize(n).inverse();
    let ranges = passes(log_n, pass_layers());
    let last = ranges.len() - 1;
    for (p, &(lo, hi)) in ranges.iter().enumerate() {
        let load = if p == 0 {
            Load::BitReversed(source, n_inv)
        } else {
            Load::InPlace
        };
        if p < last {
            run_pass(coeffs, log_n, lo, hi, dit, load, None);
        } else {
            let sink = (last == 0).then_some(consume);
            run_fused_pass(coeffs, log_n, lo, dit, load, &difs, sink);
        }
    }
    // Every block's other passes, in place; the last (lo = 0) hands its rows to `consume`.
    for (k, &(out, dif)) in difs.iter().enumerate() {
        for &(lo, hi) in ranges[..last].iter().rev() {
            let sink = (lo == 0).then_some((k * n, consume));
            run_pass(out, log_n, lo, hi, dif, Load::InPlace, sink);
        }
    }
}

/// The (lo, hi) layer ranges of the passes, ascending: a pass runs the layers of half-size
/// 2^lo … 2^(hi−1). Passes are as even as possible, the first the largest. The inverse (DIT)
/// runs them in this order, the coset blocks (DIF) in the reverse one, so the inverse's last
/// pass and the blocks' first cover the same layers.
fn passes(log_n: usize, max_layers: usize) -> Vec<(usize, usize)> {
    let count = log_n.div_ceil(max_layers).max(1);
    let mut ranges = Vec::with_capacity(count);
    let mut lo = 0;
    for p in 0..count {
        // The first (log_n mod count) passes take one layer more.
        let layers = log_n / count + usize::from(p < log_n % count);
        ranges.push((lo, lo + layers));
        lo += layers;
    }
    ranges
}

/// One pass: layers of half-size 2^lo … 2^(hi−1) (in the network's order) over every tile.
/// Tile t holds rows base + m·2^lo (m < 2^(hi−lo)), base = ((t >> lo) << hi) + t mod 2^lo:
/// exactly the rows those layers connect. With a `sink`, each tile's rows (then contiguous:
/// lo = 0) are handed to the consumer once all their columns are done.
fn run_pass(
    mat: Shared,
    log_n: usize,
    lo: usize,
    hi: usize,
    network: Network<'_>,
    load: Load,
    sink: Option<(usize, Consumer<'_>)>,
) {
    let _span = tracing::debug_span!("lde pass", lo, hi).entered();
    let layers = hi - lo;
    let width = mat.width;
    let cols = tile_cols(layers, 1).min(width);
    (0..1usize << (log_n - layers))
        .into_par_iter()
        .for_each(|t| {
            let tile = Tile::new(t, lo, layers);
            let tw = tile.twiddles(network, log_n);
            (0..width.div_ceil(cols)).into_par_iter().for_each(|s| {
                let (c0, c1) = (s * cols, (s * cols + cols).min(width));
                // SAFETY: this tile's rows × columns c0..c1 belong to this task alone (tiles and
                // strips partition the matrix); the rows are < 2^log_n.
                let mut segs = unsafe { tile.segments(mat, c0, c1) };
                tile.load(&mut segs, load, log_n, c0, c1);
                tile.layers(&mut segs, network, &tw, 0);
            });
            if let Some((first_row, consume)) = sink {
                // SAFETY: the strips above are done with this tile.
                unsafe { tile.hand_over(mat, first_row, consume) };
            }
        });
}

/// The inverse's last pass (layers of half-size 2^lo … 2^(log_n−1), `dit`) and every coset
/// block's first pass (the same layers, descending), on the same row sets: per tile and strip
/// the coefficients are finished in cache, each block k < B−1 takes its first layer from them
/// there, and the last block (`coeffs` itself) is then transformed in place. The coefficient
/// matrix is read and written once here instead of 1 + B times. With a `consume` (a single
/// pass: lo = 0), every block's tile rows are handed over when done.
fn run_fused_pass(
    coeffs: Shared,
    log_n: usize,
    lo: usize,
    dit: Network<'_>,
    load: Load,
    blocks: &[(Shared, Network<'_>)],
    consume: Option<Consumer<'_>>,
) {
    let _span = tracing::debug_span!("lde fused pass", lo).entered();
    let layers = log_n - lo;
    let width = coeffs.width;
    let n = 1usize << log_n;
    // A strip holds the coefficients' segments and one block's at a time.
    let cols = tile_cols(layers, 2).min(width);
    let (in_place, others) = blocks.split_last().expect("at least one block");
    debug_assert!(std::ptr::eq(in_place.0.ptr, coeffs.ptr));
    (0..1usize << lo).into_par_iter().for_each(|t| {
        let tile = Tile::new(t, lo, layers);
        let tw_dit = tile.twiddles(dit, log_n);
        let tw_dif: Vec<Vec<F>> = blocks
            .iter()
            .map(|&(_, net)| tile.twiddles(net, log_n))
            .collect();
        (0..width.div_ceil(cols)).into_par_iter().for_each(|s| {
            let (c0, c1) = (s * cols, (s * cols + cols).min(width));
            // SAFETY: this tile's rows × columns c0..c1 of every block belong to this task
            // alone (tiles and strips partition each block); the rows are < 2^log_n.
            let mut segs = unsafe { tile.segments(coeffs, c0, c1) };
            tile.load(&mut segs, load, log_n, c0, c1);
            tile.layers(&mut segs, dit, &tw_dit, 0);
            for (&(out, dif), tw) in others.iter().zip(&tw_dif) {
                // SAFETY: as above; `out` is another block than `coeffs`.
                let mut out_segs = unsafe { tile.segments(out, c0, c1) };
                tile.first_layer_from(&mut out_segs, &segs, dif, tw);
                tile.layers(&mut out_segs, dif, tw, 1);
            }
            tile.layers(&mut segs, in_place.1, &tw_dif[others.len()], 0);
        });
        if let Some(consume) = consume {
            for (k, &(out, _)) in blocks.iter().enumerate() {
                // SAFETY: the strips above are done with this tile.
                unsafe { tile.hand_over(out, k * n, consume) };
            }
        }
    });
}

/// Tile t of a pass of `layers` layers from half-size 2^lo: rows base + m·2^lo (m <
/// 2^layers), base = ((t >> lo) << (lo + layers)) + t mod 2^lo — exactly the rows those layers
/// connect.
struct Tile {
    base: usize,
    lo: usize,
    layers: usize,
}

impl Tile {
    fn new(t: usize, lo: usize, layers: usize) -> Self {
        let base = ((t >> lo) << (lo + layers)) + (t & ((1usize << lo) - 1));
        Tile { base, lo, layers }
    }

    fn row(&self, m: usize) -> usize {
        self.base + (m << self.lo)
    }

    fn rows(&self) -> usize {
        1 << self.layers
    }

    /// The layer (in the tile: half-size 2^local) that `network` runs i-th.
    fn local(&self, network: Network<'_>, i: usize) -> usize {
        if network.ascending() {
            i
        } else {
            self.layers - 1 - i
        }
    }

    /// The tile's twiddles, once for all its strips: layer i (in run order), pair p at
    /// i·rows/2 + p.
    fn twiddles(&self, network: Network<'_>, log_n: usize) -> Vec<F> {
        let pairs = self.rows() / 2;
        let mut tw = Vec::with_capacity(self.layers * pairs);
        for i in 0..self.layers {
            let local = self.local(network, i);
            let half = 1usize << local;
            for p in 0..pairs {
                // Pair p of the layer starts at tile row m (blocks of 2·half rows).
                let m = 2 * half * (p / half) + p % half;
                tw.push(network.twiddle(self.row(m), self.lo + local, log_n));
            }
        }
        tw
    }

    /// Columns c0..c1 of the tile's rows of `mat`.
    ///
    /// # Safety
    /// No other live reference covers them (the tiles and strips of a pass are disjoint).
    unsafe fn segments<'a>(&self, mat: Shared, c0: usize, c1: usize) -> Vec<&'a mut [F]> {
        // SAFETY: the caller's contract; the rows lie inside the matrix.
        (0..self.rows())
            .map(|m| unsafe { mat.segment(self.row(m), c0, c1) })
            .collect()
    }

    /// Fills the segments before the first layer.
    fn load(&self, segs: &mut [&mut [F]], load: Load, log_n: usize, c0: usize, c1: usize) {
        if let Load::BitReversed(src, scale) = load {
            gather_bit_reversed(segs, src, scale, |m| self.row(m), log_n, c0, c1);
        }
    }

    /// `network`'s layers from its `first`-th on, in place.
    fn layers(&self, segs: &mut [&mut [F]], network: Network<'_>, tw: &[F], first: usize) {
        let pairs = self.rows() / 2;
        for i in first..self.layers {
            layer(
                segs,
                1 << self.local(network, i),
                &tw[i * pairs..(i + 1) * pairs],
            );
        }
    }

    /// `network`'s first layer into `segs`, reading its inputs from `src` (the same rows of
    /// another block).
    fn first_layer_from(
        &self,
        segs: &mut [&mut [F]],
        src: &[&mut [F]],
        network: Network<'_>,
        tw: &[F],
    ) {
        let half = 1usize << self.local(network, 0);
        for (bk, block) in segs.chunks_exact_mut(2 * half).enumerate() {
            let (x, y) = block.split_at_mut(half);
            for (j, (x, y)) in x.iter_mut().zip(y.iter_mut()).enumerate() {
                let m = 2 * half * bk + j;
                butterfly_from(x, y, src[m], src[m + half], tw[bk * half + j]);
            }
        }
    }

    /// Hands the tile's rows of `mat` (contiguous: lo = 0) to `consume`, as rows
    /// first_row + base ….
    ///
    /// # Safety
    /// Every strip of this tile is done, and no other task touches its rows.
    unsafe fn hand_over(&self, mat: Shared, first_row: usize, consume: Consumer<'_>) {
        debug_assert_eq!(self.lo, 0);
        // SAFETY: the caller's contract; the rows base .. base + rows are contiguous.
        let rows = unsafe {
            std::slice::from_raw_parts(
                mat.ptr.add(self.base * mat.width).cast_const(),
                self.rows() * mat.width,
            )
        };
        consume(first_row + self.base, rows);
    }
}

/// A tile's rows r from `src`'s rows bitrev(r), times `scale` ([`Load::BitReversed`]).
fn gather_bit_reversed(
    segs: &mut [&mut [F]],
    src: Shared,
    scale: F,
    row: impl Fn(usize) -> usize,
    log_n: usize,
    c0: usize,
    c1: usize,
) {
    let k = PackedF::from(scale);
    for (m, seg) in segs.iter_mut().enumerate() {
        // SAFETY: `src` is only read in this pass and does not overlap the tile.
        let from = unsafe { src.segment_ref(bit_reverse(row(m), log_n), c0, c1) };
        let (p, s) = PackedF::pack_slice_with_suffix_mut(seg);
        let (fp, fs) = PackedF::pack_slice_with_suffix(from);
        p.iter_mut().zip(fp).for_each(|(x, &y)| *x = y * k);
        s.iter_mut().zip(fs).for_each(|(x, &y)| *x = y * scale);
    }
}

/// One layer over a tile: the pairs (m, m + half) for m mod 2·half < half, each
/// (u, v) → (u + w·v, u − w·v) with the pair's twiddle from `tw` (pairs in row order).
#[inline(always)]
fn layer(segs: &mut [&mut [F]], half: usize, tw: &[F]) {
    for (block, tw) in segs.chunks_exact_mut(2 * half).zip(tw.chunks_exact(half)) {
        let (x, y) = block.split_at_mut(half);
        for ((x, y), &w) in x.iter_mut().zip(y.iter_mut()).zip(tw) {
            butterfly(x, y, w);
        }
    }
}

/// (x, y) ← (x + w·y, x − w·y) along two row segments.
#[inline]
fn butterfly(x: &mut [F], y: &mut [F], w: F) {
    if w == F::ONE {
        return rows_apply(x, y, w, |a, b, _| (a + b, a - b));
    }
    rows_apply(x, y, w, |a, b, w| {
        let t = b * w;
        (a + t, a - t)
    });
}

/// (x, y) ← (u + w·v, u − w·v) along row segments: the butterfly out of place.
#[inline]
fn butterfly_from(x: &mut [F], y: &mut [F], u: &[F], v: &[F], w: F) {
    let (xp, xs) = PackedF::pack_slice_with_suffix_mut(x);
    let (yp, ys) = PackedF::pack_slice_with_suffix_mut(y);
    let (up, us) = PackedF::pack_slice_with_suffix(u);
    let (vp, vs) = PackedF::pack_slice_with_suffix(v);
    let wp = PackedF::from(w);
    for (((a, b), &c), &d) in xp.iter_mut().zip(yp.iter_mut()).zip(up).zip(vp) {
        let t = d * wp;
        (*a, *b) = (c + t, c - t);
    }
    for (((a, b), &c), &d) in xs.iter_mut().zip(ys.iter_mut()).zip(us).zip(vs) {
        let t = d * w;
        (*a, *b) = (c + t, c - t);
    }
}

/// `(x[c], y[c]) ← op(x[c], y[c], w)` along two row segments: packed, four packed values at a
/// time (independent chains that hide the product's latency), then the scalar tail.
#[inline(always)]
fn rows_apply(
    x: &mut [F],
    y: &mut [F],
    w: F,
    op: impl Fn(PackedF, PackedF, PackedF) -> (PackedF, PackedF),
) {
    let (xp, xs) = PackedF::pack_slice_with_suffix_mut(x);
    let (yp, ys) = PackedF::pack_slice_with_suffix_mut(y);
    let wp = PackedF::from(w);
    let (x4, xr) = xp.as_chunks_mut::<4>();
    let (y4, yr) = yp.as_chunks_mut::<4>();
    for (a, b) in x4.iter_mut().zip(y4.iter_mut()) {
        let (a0, b0) = op(a[0], b[0], wp);
        let (a1, b1) = op(a[1], b[1], wp);
        let (a2, b2) = op(a[2], b[2], wp);
        let (a3, b3) = op(a[3], b[3], wp);
        (a[0], b[0], a[1], b[1]) = (a0, b0, a1, b1);
        (a[2], b[2], a[3], b[3]) = (a2, b2, a3, b3);
    }
    for (a, b) in xr.iter_mut().zip(yr.iter_mut()) {
        (*a, *b) = op(*a, *b, wp);
    }
    for (a, b) in xs.iter_mut().zip(ys.iter_mut()) {
        let (u, v) = op(PackedF::from(*a), PackedF::from(*b), wp);
        (*a, *b) = (u.as_slice()[0], v.as_slice()[0]);
    }
}

/// Most layers a pass runs: as many as a tile of [`tile_bytes`] holds with row segments of
/// [`MAX_TILE_COLS`] columns (4 KiB), at most [`MAX_PASS_LAYERS`]. 8 on the H200 host (1 MiB
/// tiles). Why not more rows of narrower segments: a strided tile's rows are 2^lo rows apart,
/// for keccak's 2633 columns 2633·2^(3+lo) bytes, so with lo ≥ 9 every segment starts at the
/// same offset in its 4 KiB page; segments shorter than a page then share half the L1 and L2
/// sets. At 2^18 rows, 9-layer passes with 2 KiB segments (2 passes) measured 2.92–2.96 s for
/// the LDE alone against 2.55–2.72 s for 6-layer passes with 4 KiB segments (3 passes), and
/// 3.3–4.0 s against 2.9–3.2 s for the commit phase (PERF.md, session 14).
fn pass_layers() -> usize {
    let rows = tile_bytes() / (MAX_TILE_COLS * size_of::<F>());
    (rows.max(2).ilog2() as usize).min(MAX_PASS_LAYERS)
}

/// Columns per tile for passes of `layers` layers whose strips hold `mats` matrices' segments.
fn tile_cols(layers: usize, mats: usize) -> usize {
    (tile_bytes() / ((mats * size_of::<F>()) << layers)).clamp(MIN_TILE_COLS, MAX_TILE_COLS)
        / MIN_TILE_COLS
        * MIN_TILE_COLS
}

/// Half of this CPU's L2 (read once from sysfs), within [`MIN_TILE_BYTES`]..[`MAX_TILE_BYTES`].
fn tile_bytes() -> usize {
    static BYTES: OnceLock<usize> = OnceLock::new();
    *BYTES.get_or_init(|| {
        // index2 is the unified L2 on Linux's x86 and Arm cache listings; its `level` says so.
        let dir = "/sys/devices/system/cpu/cpu0/cache/index2";
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let l2 = read("level")
            .filter(|l| l.trim() == "2")
            .and_then(|_| read("size"))
            .and_then(|s| parse_cache_size(&s))
            .unwrap_or(DEFAULT_L2_BYTES);
        (l2 / 2).clamp(MIN_TILE_BYTES, MAX_TILE_BYTES)
    })
}

/// A sysfs cache size ("2048K", "2M", "524288") in bytes.
fn parse_cache_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    match unit {
        "" => Some(n),
        "K" => n.checked_mul(1 << 10),
        "M" => n.checked_mul(1 << 20),
        _ => None,
    }
}

/// c·s^i for i < len, on all threads.
fn powers(s: F, c: F, len: usize) -> Vec<F> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![F::ZERO; len];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(i, chunk)| {
            let mut x = c * s.exp_u64((i * CHUNK) as u64);
            for v in chunk {
                *v = x;
                x *= s;
            }
        });
    out
}

/// ω_N^t (or ω_N^−t) for t < N/2, cached per size and direction for the process.
fn twiddles(log_n: usize, inverse: bool) -> Arc<Vec<F>> {
    static CACHE: OnceLock<TwiddleCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (log_n, inverse);
    if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return t;
    }
    let w = omega(log_n);
    let w = if inverse { w.inverse() } else { w };
    let table = Arc::new(powers(w, F::ONE, (1usize << log_n) / 2));
    if let Ok(mut c) = cache.lock() {
        c.insert(key, table.clone());
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RowMajor, golden, lde};

    fn tiled(trace: &RowMajor, log_b: usize) -> (Vec<F>, Vec<u32>) {
        let log_n = trace.log_height().unwrap();
        let rows = trace.height() << log_b;
        let mut out = vec![F::ZERO; rows * trace.width];
        let seen = Mutex::new(vec![0u32; rows]);
        let w = trace.width;
        let consume = |first: usize, block: &[F]| {
            assert_eq!(block.len() % w, 0);
            let k = block.len() / w;
            assert!(first.is_multiple_of(2) && k.is_multiple_of(2));
            for c in &mut seen.lock().unwrap()[first..first + k] {
                *c += 1;
            }
        };
        // SAFETY: `out` has room for all rows; the trace is a separate buffer.
        unsafe {
            tiled_coset_lde(
                trace.values.as_ptr(),
                out.as_mut_ptr(),
                w,
                log_n,
                log_b,
                &consume,
            )
        };
        (out, seen.into_inner().unwrap())
    }

    #[test]
    fn tiled_lde_equals_p3_lde() {
        for log_n in [2, 3, 5, 9, 10, 11, 19] {
            for width in [1, 3, 9, 17, 61] {
                if log_n == 19 && width > 3 {
                    continue;
                }
                for log_b in 1..=crate::MAX_LOG_BLOWUP {
                    if log_n + log_b > 20 {
                        continue;
                    }
                    let trace = golden::matrix(log_n, width, 7 * log_n as u64 + width as u64);
                    let want = lde(&trace, log_b).unwrap();
                    let (got, seen) = tiled(&trace, log_b);
                    assert!(
                        got == want.values,
                        "log_n {log_n} width {width} log_b {log_b}"
                    );
                    assert!(seen.iter().all(|&c| c == 1), "{log_n} {width} {log_b}");
                }
            }
        }
    }

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("2048K\n"), Some(2 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("524288"), Some(512 << 10));
        assert_eq!(parse_cache_size("big"), None);
        assert!((MIN_TILE_BYTES..=MAX_TILE_BYTES).contains(&tile_bytes()));
    }

    #[test]
    fn passes_cover_every_layer_once() {
        for log_n in 1..=26 {
            for max in 1..=9 {
                let p = passes(log_n, max);
                assert!(p.iter().all(|&(lo, hi)| hi - lo <= max && hi > lo));
                // Ascending and contiguous from 0 to log_n (the DIF runs them reversed).
                let layers: Vec<usize> = p.iter().flat_map(|&(lo, hi)| lo..hi).collect();
                assert_eq!(layers, (0..log_n).collect::<Vec<_>>());
                assert!(p.windows(2).all(|w| w[0].1 - w[0].0 >= w[1].1 - w[1].0));
            }
        }
    }
}
