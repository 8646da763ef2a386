//! Handles to the prover-round kernels of `kernels/prover.cu` (loaded from the embedded fatbin).

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;

use crate::context::GpuContext;
use crate::error::{DriverContext, Result};
use crate::kernels::{ARCHS, FATBIN};

pub(crate) struct ProverKernels {
    _module: Arc<CudaModule>,
    pub ood_coef_partial: CudaFunction,
    pub ood2_coef_partial: CudaFunction,
    pub ood_reduce: CudaFunction,
    pub deep_combine: CudaFunction,
    pub deep_sum: CudaFunction,
    pub deep_finish: CudaFunction,
    pub fold: CudaFunction,
    pub add: CudaFunction,
    pub rows_to_cols: CudaFunction,
    pub split_parts: CudaFunction,
}

impl ProverKernels {
    pub fn load(ctx: &GpuContext) -> Result<Self> {
        let module = ctx
            .cuda_context()
            .load_module(Ptx::from_binary(FATBIN.to_vec()))
            .ctx(format!("loading the kernel fatbin ({ARCHS})"))?;
        let f = |name: &str| {
            module
                .load_function(name)
                .ctx(format!("loading kernel {name}"))
        };
        Ok(Self {
            ood_coef_partial: f("pv_ood_coef_partial")?,
            ood2_coef_partial: f("pv_ood2_coef_partial")?,
            ood_reduce: f("pv_ood_reduce")?,
            deep_combine: f("pv_deep_combine")?,
            deep_sum: f("pv_deep_sum")?,
            deep_finish: f("pv_deep_finish")?,
            fold: f("pv_fold")?,
            add: f("pv_add")?,
            rows_to_cols: f("pv_rows_to_cols")?,
            split_parts: f("pv_split_parts")?,
            _module: module,
        })
    }
}
