//! The embedded fatbin and handles to its kernels.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;

use crate::error::{DriverContext, Result};

/// kernels/*.cu, compiled by build.rs for every architecture in [`ARCHS`].
pub static FATBIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rstark_kernels.fatbin"));
/// The cubin architectures embedded in [`FATBIN`], e.g. "sm_80,sm_86,sm_89,sm_90,sm_100,...".
pub const ARCHS: &str = env!("RSTARK_CUDA_ARCHS");

macro_rules! kernels {
    ($($name:ident),* $(,)?) => {
        pub(crate) struct Kernels {
            _module: Arc<CudaModule>,
            $(pub $name: CudaFunction,)*
        }
        impl Kernels {
            pub fn load(ctx: &Arc<CudaContext>) -> Result<Self> {
                let module = ctx
                    .load_module(Ptx::from_binary(FATBIN.to_vec()))
                    .ctx(format!("loading the kernel fatbin ({ARCHS})"))?;
                Ok(Self {
                    $($name: module
                        .load_function(stringify!($name))
                        .ctx(concat!("loading kernel ", stringify!($name)))?,)*
                    _module: module,
                })
            }
        }
    };
}

kernels!(
    colmajor_to_rowmajor,
    trace_to_colmajor_bitrev,
    trace_to_colmajor_bitrev_small,
    ntt_pass,
    ntt_pass_expand,
    ntt_pass_r3,
    ntt_pass_expand_r3,
    ntt_inverse_expand,
    ntt_inverse_expand4,
    gl_mul_ceiling,
    gl_butterfly_ceiling,
    keccak_butterfly_mix,
    hash_leaves_rowmajor,
    hash_leaves_colmajor,
    merkle_layers,
    gather_paths,
    gather_rows,
    gather_openings,
    fill_u64,
    fill_random_field,
    field_probe,
    ext_probe,
    keccak_probe,
    keccak_ceiling,
    keccak_trace_rows,
    keccak_round_states,
    keccak_trace_colmajor_bitrev,
    st_powers,
    st_ext_powers,
    st_fold,
    st_rows_to_colmajor_bitrev,
    st_absorb,
    st_squeeze,
    st_gather_rows,
    witness_check,
    logup_rows,
    logup_chunk_sums,
    logup_scan_groups,
    logup_running_sum,
    pow_grind,
);
