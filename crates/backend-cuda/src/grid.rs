//! Launch geometry within the hardware's limits (compiled with or without the `cuda` feature,
//! so CI tests it on any machine). Every launch of the CUDA backend goes through
//! [`check_launch`] (in `GpuContext::launch`), which refuses a grid the driver would refuse with
//! a typed error naming the kernel and its dimensions; the helpers below split work so that no
//! launch reaches a limit at any size the prover accepts.

/// Blocks along x (2^31 − 1 on every architecture since sm_30).
pub const MAX_GRID_X: u32 = (1 << 31) - 1;
/// Blocks along y and along z.
pub const MAX_GRID_YZ: u32 = 65_535;
/// Threads per block.
pub const MAX_BLOCK_THREADS: u32 = 1024;
/// Threads along x and y of a block; z is limited to 64.
pub const MAX_BLOCK_XY: u32 = 1024;
pub const MAX_BLOCK_Z: u32 = 64;

/// Blocks of `threads` threads covering `n` items, saturating at `u32::MAX` (never truncated:
/// a count past [`MAX_GRID_X`] is refused by [`check_launch`], not wrapped to a small grid).
/// 2^31 − 1 blocks of 128 threads cover almost 2^38 items, more words than any device holds.
pub fn blocks_1d(n: u64, threads: u32) -> u32 {
    let blocks = n.div_ceil(threads.max(1) as u64).max(1);
    u32::try_from(blocks).unwrap_or(u32::MAX)
}

/// Consecutive batches `(start, len)` of at most `max` items covering `0..total` (one launch
/// per batch when `total` items would pass a grid limit).
pub fn batches(total: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let max = max.max(1);
    (0..total)
        .step_by(max)
        .map(move |start| (start, max.min(total - start)))
}

/// What a kernel accepts beyond the hardware's grid limits: threads per block (its
/// `__launch_bounds__` and registers) and dynamic shared memory (its attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLimits {
    pub max_threads: u32,
    pub max_dynamic_shared: u32,
}

/// Checks a launch's grid, block and dynamic shared memory against the hardware limits and the
/// kernel's own; the error says which limit and by how much.
pub fn check_launch(
    grid: (u32, u32, u32),
    block: (u32, u32, u32),
    shared_bytes: u32,
    k: KernelLimits,
) -> Result<(), String> {
    let (gx, gy, gz) = grid;
    let (bx, by, bz) = block;
    if gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 {
        return Err("a grid or block dimension is 0".into());
    }
    if gx > MAX_GRID_X {
        return Err(format!("grid x {gx} > {MAX_GRID_X}"));
    }
    if gy > MAX_GRID_YZ || gz > MAX_GRID_YZ {
        return Err(format!("grid y/z ({gy}, {gz}) > {MAX_GRID_YZ}"));
    }
    if bx > MAX_BLOCK_XY || by > MAX_BLOCK_XY || bz > MAX_BLOCK_Z {
        return Err(format!(
            "block ({bx}, {by}, {bz}) past ({MAX_BLOCK_XY}, {MAX_BLOCK_XY}, {MAX_BLOCK_Z})"
        ));
    }
    let threads = bx as u64 * by as u64 * bz as u64;
    let max_threads = k.max_threads.min(MAX_BLOCK_THREADS);
    if threads > max_threads as u64 {
        return Err(format!(
            "{threads} threads per block > the kernel's {max_threads}"
        ));
    }
    if shared_bytes > k.max_dynamic_shared {
        return Err(format!(
            "{shared_bytes} bytes of dynamic shared memory > the kernel's {}",
            k.max_dynamic_shared
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: KernelLimits = KernelLimits {
        max_threads: 1024,
        max_dynamic_shared: 48 * 1024,
    };

    #[test]
    fn blocks_saturate_instead_of_wrapping() {
        assert_eq!(blocks_1d(0, 256), 1);
        assert_eq!(blocks_1d(1, 256), 1);
        assert_eq!(blocks_1d(256, 256), 1);
        assert_eq!(blocks_1d(257, 256), 2);
        assert_eq!(blocks_1d(3 << 30, 256), 3 << 22);
        // 2^32 blocks would wrap to 0 in a plain `as u32`
        assert_eq!(blocks_1d(1 << 40, 256), u32::MAX);
        assert!(check_launch((blocks_1d(1 << 40, 256), 1, 1), (256, 1, 1), 0, ANY).is_err());
        assert!(
            check_launch(
                (blocks_1d(MAX_GRID_X as u64 * 128, 128), 1, 1),
                (128, 1, 1),
                0,
                ANY
            )
            .is_ok()
        );
        assert!(check_launch((blocks_1d(1 << 38, 128), 1, 1), (128, 1, 1), 0, ANY).is_err());
    }

    #[test]
    fn batches_cover_exactly() {
        for (total, max) in [
            (0, 5),
            (1, 5),
            (5, 5),
            (6, 5),
            (65_536, 65_535),
            (146_688, 65_535),
        ] {
            let b: Vec<_> = batches(total, max).collect();
            assert!(b.iter().all(|&(_, l)| l >= 1 && l <= max));
            let mut next = 0;
            for &(s, l) in &b {
                assert_eq!(s, next);
                next += l;
            }
            assert_eq!(next, total, "total={total} max={max}");
        }
        assert_eq!(batches(10, 0).count(), 10);
    }

    #[test]
    fn limits_are_enforced() {
        assert!(check_launch((MAX_GRID_X, MAX_GRID_YZ, MAX_GRID_YZ), (32, 8, 1), 0, ANY).is_ok());
        assert!(check_launch((1, 65_536, 1), (32, 8, 1), 0, ANY).is_err());
        assert!(check_launch((1, 1, 65_536), (32, 8, 1), 0, ANY).is_err());
        assert!(check_launch((1 << 31, 1, 1), (32, 8, 1), 0, ANY).is_err());
        assert!(check_launch((0, 1, 1), (32, 1, 1), 0, ANY).is_err());
        assert!(check_launch((1, 1, 1), (1024, 1, 1), 0, ANY).is_ok());
        assert!(check_launch((1, 1, 1), (1025, 1, 1), 0, ANY).is_err());
        assert!(check_launch((1, 1, 1), (32, 32, 2), 0, ANY).is_err());
        assert!(check_launch((1, 1, 1), (1, 1, 65), 0, ANY).is_err());
        let bounded = KernelLimits {
            max_threads: 128,
            max_dynamic_shared: 0,
        };
        assert!(check_launch((1, 1, 1), (256, 1, 1), 0, bounded).is_err());
        assert!(check_launch((1, 1, 1), (128, 1, 1), 0, bounded).is_ok());
        assert!(check_launch((1, 1, 1), (128, 1, 1), 8, bounded).is_err());
        assert!(check_launch((1, 1, 1), (128, 1, 1), 48 * 1024, ANY).is_ok());
        assert!(check_launch((1, 1, 1), (128, 1, 1), 48 * 1024 + 1, ANY).is_err());
    }
}
