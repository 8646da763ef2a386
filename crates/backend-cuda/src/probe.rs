//! Kernels that exist for the parity tests and the benchmarks: arithmetic and Keccak probes,
//! device-side random matrices, and the ceilings (copy bandwidth, Keccak-f rate, Goldilocks
//! products, NTT butterflies) that the benchmarks' floors divide by.

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaFunction, LaunchConfig, PushKernelArg};

use crate::context::{GpuContext, grid_1d};
use crate::error::{DriverContext, Result};
use crate::matrix::DeviceMatrix;

impl GpuContext {
    /// For each i: (a+b, a-b, a*b, -a) in the base field, computed on the device.
    pub fn probe_field(&self, a: &[u64], b: &[u64]) -> Result<Vec<[u64; 4]>> {
        let n = a.len().min(b.len()) as u64;
        let (da, db) = (
            self.upload(&a[..n as usize], "probe")?,
            self.upload(&b[..n as usize], "probe")?,
        );
        let mut out = self.alloc_words(4 * n as usize, "probe output")?;
        let mut l = self.func(&self.k.field_probe);
        l.arg(&da).arg(&db).arg(&n).arg(&mut out);
        self.launch(l, grid_1d(n, 256), "field_probe")?;
        let w = self.download(&out, "probe output")?;
        Ok(w.chunks_exact(4)
            .take(n as usize)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect())
    }

    /// For each i: (a*b, a+b) in the cubic extension, 3 words per element.
    pub fn probe_ext(&self, a: &[[u64; 3]], b: &[[u64; 3]]) -> Result<Vec<[[u64; 3]; 2]>> {
        let n = a.len().min(b.len());
        let fa: Vec<u64> = a[..n].iter().flatten().copied().collect();
        let fb: Vec<u64> = b[..n].iter().flatten().copied().collect();
        let (da, db) = (self.upload(&fa, "probe")?, self.upload(&fb, "probe")?);
        let mut out = self.alloc_words(6 * n, "probe output")?;
        let nn = n as u64;
        let mut l = self.func(&self.k.ext_probe);
        l.arg(&da).arg(&db).arg(&nn).arg(&mut out);
        self.launch(l, grid_1d(nn, 256), "ext_probe")?;
        let w = self.download(&out, "probe output")?;
        Ok(w.chunks_exact(6)
            .take(n)
            .map(|c| [[c[0], c[1], c[2]], [c[3], c[4], c[5]]])
            .collect())
    }

    /// Keccak-256 of each message (whole little-endian words), computed on the device.
    pub fn probe_keccak(&self, messages: &[Vec<u64>]) -> Result<Vec<[u8; 32]>> {
        let mut words = Vec::new();
        let mut offsets = vec![0u64];
        for m in messages {
            words.extend_from_slice(m);
            offsets.push(words.len() as u64);
        }
        words.push(0);
        let (dw, doff) = (
            self.upload(&words, "probe")?,
            self.upload(&offsets, "probe")?,
        );
        let nq = messages.len() as u64;
        let mut out = self.alloc_words(4 * messages.len(), "probe output")?;
        let mut l = self.func(&self.k.keccak_probe);
        l.arg(&dw).arg(&doff).arg(&nq).arg(&mut out);
        self.launch(l, grid_1d(nq, 128), "keccak_probe")?;
        let w = self.download(&out, "probe output")?;
        Ok(w.chunks_exact(4)
            .take(messages.len())
            .map(|c| {
                let mut d = [0u8; 32];
                for (i, x) in c.iter().enumerate() {
                    d[8 * i..8 * i + 8].copy_from_slice(&x.to_le_bytes());
                }
                d
            })
            .collect())
    }

    /// A rows × width matrix of pseudo-random canonical elements made on the device (no PCIe).
    pub fn random_matrix(&self, rows: usize, width: usize, seed: u64) -> Result<DeviceMatrix> {
        let n = (rows * width) as u64;
        let mut buf = self.alloc_words(rows * width, "a random matrix")?;
        let mut l = self.func(&self.k.fill_random_field);
        l.arg(&mut buf).arg(&n).arg(&seed);
        self.launch(l, grid_1d(n, 256), "fill_random_field")?;
        Ok(DeviceMatrix::from_parts(buf, rows, width))
    }

    /// Time `f` on the stream with CUDA events: milliseconds of each of `reps` runs after `warmup`.
    pub fn time_ms(
        &self,
        warmup: usize,
        reps: usize,
        mut f: impl FnMut() -> Result<()>,
    ) -> Result<Vec<f64>> {
        for _ in 0..warmup {
            f()?;
        }
        self.synchronize()?;
        let flags = Some(CUevent_flags::CU_EVENT_DEFAULT);
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let start = self
                .cuda_context()
                .new_event(flags)
                .ctx("creating an event")?;
            let stop = self
                .cuda_context()
                .new_event(flags)
                .ctx("creating an event")?;
            start.record(self.stream()).ctx("recording an event")?;
            f()?;
            stop.record(self.stream()).ctx("recording an event")?;
            stop.synchronize().ctx("waiting for an event")?;
            times.push(start.elapsed_ms(&stop).ctx("reading an event")? as f64);
        }
        Ok(times)
    }

    /// Device-to-device copy bandwidth (bytes read + written per second) over `bytes` bytes.
    pub fn measure_copy_bandwidth(&self, bytes: usize) -> Result<f64> {
        let words = bytes / 8;
        let src = self.random_matrix(words, 1, 1)?;
        let mut dst = self.alloc_words(words, "copy target")?;
        let t = self.time_ms(2, 10, || {
            self.stream()
                .memcpy_dtod(src.words(), &mut dst)
                .ctx("device copy")
        })?;
        Ok(2.0 * (words * 8) as f64 / (median(&t) * 1e-3))
    }

    /// Threads for a ceiling kernel: 4 full waves of 2048 threads per multiprocessor.
    fn ceiling_threads(&self) -> Result<u64> {
        let sms = self
            .cuda_context()
            .attribute(
                cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            )
            .ctx("reading the SM count")?;
        Ok(sms as u64 * 2048 * 4)
    }

    /// Operations per second of a ceiling kernel `f(out, iters)`: 4 waves of `block`-thread
    /// blocks, each thread doing `per_iter` operations per iteration, median of 5 after a warm-up.
    fn ceiling_rate(
        &self,
        f: &CudaFunction,
        name: &str,
        block: u32,
        iters: u32,
        per_iter: u64,
    ) -> Result<f64> {
        let threads = self.ceiling_threads()?;
        let mut out = self.alloc_words(threads as usize, "ceiling output")?;
        let cfg = LaunchConfig {
            grid_dim: ((threads / block as u64) as u32, 1, 1),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        let t = self.time_ms(1, 5, || {
            let mut l = self.func(f);
            l.arg(&mut out).arg(&iters);
            self.launch(l, cfg, name)
        })?;
        Ok((threads * per_iter * iters as u64) as f64 / (median(&t) * 1e-3))
    }

    /// Goldilocks multiplications per second (4 independent chains per thread in registers).
    pub fn measure_gl_mul_rate(&self) -> Result<f64> {
        self.ceiling_rate(&self.k.gl_mul_ceiling, "gl_mul_ceiling", 256, 1024, 4)
    }

    /// NTT butterflies per second (the NTT's own radix-2 butterfly: one product, one sum, one
    /// difference, all mod p), each thread running 16-point networks (32 butterflies) on values
    /// in registers.
    pub fn measure_butterfly_rate(&self) -> Result<f64> {
        self.ceiling_rate(
            &self.k.gl_butterfly_ceiling,
            "gl_butterfly_ceiling",
            256,
            256,
            32,
        )
    }

    /// Do Keccak-f and NTT butterflies share the SM's integer pipes? One launch whose even
    /// blocks chain permutations and odd blocks chain butterflies, timed with only the first
    /// kind working, only the second, and both (iterations chosen so that each alone takes
    /// about as long). Returns (keccak alone, butterflies alone, both) in ms: both ≈ the sum
    /// means the two add up in a floor; both ≈ the larger would mean they overlap.
    pub fn measure_keccak_butterfly_mix(&self) -> Result<(f64, f64, f64)> {
        let threads = self.ceiling_threads()?;
        let mut out = self.alloc_words(threads as usize, "mix ceiling output")?;
        let cfg = LaunchConfig {
            grid_dim: ((threads / 128) as u32, 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut time = |k: u32, b: u32| -> Result<f64> {
            let t = self.time_ms(1, 5, || {
                let mut l = self.func(&self.k.keccak_butterfly_mix);
                l.arg(&mut out).arg(&k).arg(&b);
                self.launch(l, cfg, "keccak_butterfly_mix")
            })?;
            Ok(median(&t))
        };
        let k_iters: u32 = 128;
        let t_k = time(k_iters, 0)?;
        let probe = time(0, 64)?;
        let b_iters = ((64.0 * t_k / probe.max(1e-6)).round() as u32).max(1);
        let t_b = time(0, b_iters)?;
        let t_both = time(k_iters, b_iters)?;
        Ok((t_k, t_b, t_both))
    }

    /// Keccak-f[1600] permutations per second: every thread chains permutations in registers.
    pub fn measure_keccak_rate(&self) -> Result<f64> {
        self.ceiling_rate(&self.k.keccak_ceiling, "keccak_ceiling", 128, 256, 1)
    }
}

/// Median of a non-empty sample (0 for an empty one).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}
