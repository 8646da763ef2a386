//! Protocol parameters and named presets, each with its conjectured security level.

/// FRI/query parameters of a proof. Everything else (heights, widths) comes from the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StarkParams {
    /// log2 of the LDE blowup B (1..=4: B ∈ {2, 4, 8, 16}).
    pub log_blowup: u8,
    /// Number of FRI queries Q (1..=512).
    pub num_queries: u16,
    /// Proof-of-work bits before the queries (0..=32).
    pub pow_bits: u8,
    /// log2 of the number of coefficients of the final FRI polynomial (0..=10).
    pub log_final_poly_len: u8,
}

/// Conjectured security cap from the extension field and the union bounds (docs/PROTOCOL.md §5.9).
pub const FIELD_SECURITY_BITS: u32 = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("log_blowup {0} outside 1..=4")]
    Blowup(u8),
    #[error("num_queries {0} outside 1..=512")]
    Queries(u16),
    #[error("pow_bits {0} outside 0..=32")]
    Pow(u8),
    #[error("log_final_poly_len {0} outside 0..=10")]
    FinalPoly(u8),
}

impl StarkParams {
    pub fn validate(&self) -> Result<(), ParamsError> {
        if !(1..=4).contains(&self.log_blowup) {
            return Err(ParamsError::Blowup(self.log_blowup));
        }
        if !(1..=512).contains(&self.num_queries) {
            return Err(ParamsError::Queries(self.num_queries));
        }
        if self.pow_bits > 32 {
            return Err(ParamsError::Pow(self.pow_bits));
        }
        if self.log_final_poly_len > 10 {
            return Err(ParamsError::FinalPoly(self.log_final_poly_len));
        }
        Ok(())
    }

    pub fn blowup(&self) -> usize {
        1 << self.log_blowup
    }

    pub fn final_poly_len(&self) -> usize {
        1 << self.log_final_poly_len
    }

    /// Conjectured security in bits: min(Q · log2(B) + pow_bits, 128).
    pub fn conjectured_security_bits(&self) -> u32 {
        let query_bits = u32::from(self.num_queries) * u32::from(self.log_blowup);
        (query_bits + u32::from(self.pow_bits)).min(FIELD_SECURITY_BITS)
    }

    /// The 8 bytes that bind these parameters in the transcript.
    pub fn to_bytes(&self) -> [u8; 8] {
        let q = self.num_queries.to_le_bytes();
        [
            self.log_blowup,
            q[0],
            q[1],
            self.pow_bits,
            self.log_final_poly_len,
            0,
            0,
            0,
        ]
    }
}

/// Named parameter sets.
pub mod presets {
    use super::StarkParams;

    /// Blowup 2, 100 queries, 16 PoW bits: 116 conjectured bits. The default.
    pub const DEFAULT: StarkParams = StarkParams {
        log_blowup: 1,
        num_queries: 100,
        pow_bits: 16,
        log_final_poly_len: 3,
    };

    /// Blowup 8, 28 queries, 16 PoW bits: 100 conjectured bits, smaller proofs, slower proving.
    pub const COMPACT: StarkParams = StarkParams {
        log_blowup: 3,
        num_queries: 28,
        pow_bits: 16,
        log_final_poly_len: 3,
    };

    /// Blowup 4, 44 queries, 16 PoW bits: 104 conjectured bits, a middle ground.
    pub const BALANCED: StarkParams = StarkParams {
        log_blowup: 2,
        num_queries: 44,
        pow_bits: 16,
        log_final_poly_len: 3,
    };

    /// FOR TESTS ONLY: blowup 2, 8 queries, 2 PoW bits — 10 conjectured bits, not secure.
    pub const FAST_TEST: StarkParams = StarkParams {
        log_blowup: 1,
        num_queries: 8,
        pow_bits: 2,
        log_final_poly_len: 0,
    };

    /// Preset names, in the order the CLI lists them.
    pub const NAMES: &[&str] = &["default", "compact", "balanced", "fast-test"];

    pub fn default() -> StarkParams {
        DEFAULT
    }

    pub fn fast_test() -> StarkParams {
        FAST_TEST
    }

    pub fn compact() -> StarkParams {
        COMPACT
    }

    pub fn balanced() -> StarkParams {
        BALANCED
    }

    /// The preset of that name.
    pub fn by_name(name: &str) -> Option<StarkParams> {
        match name {
            "default" => Some(DEFAULT),
            "compact" => Some(COMPACT),
            "balanced" => Some(BALANCED),
            "fast-test" => Some(FAST_TEST),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_secure() {
        for name in presets::NAMES {
            let p = presets::by_name(name).unwrap();
            p.validate().unwrap();
            if *name != "fast-test" {
                assert!(p.conjectured_security_bits() >= 100, "{name}");
            }
        }
        assert_eq!(presets::DEFAULT.conjectured_security_bits(), 116);
    }
}
