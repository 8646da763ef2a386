//! The proof: what the prover sends, section by section (encoding in [`crate::codec`]).

use rstark_field::{EF, F};
use rstark_merkle::Digest;

/// Two opened rows of a leaf and its authentication path. The leaf index is not sent: the
/// verifier derives it from the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleOpening {
    pub row0: Vec<F>,
    pub row1: Vec<F>,
    pub path: Vec<Digest>,
}

/// Out-of-domain evaluations of one table's committed columns, one value per *base* column
/// (an extension column contributes its three coefficient columns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OodValues {
    pub main_z: Vec<EF>,
    pub main_zw: Vec<EF>,
    pub aux_z: Vec<EF>,
    pub aux_zw: Vec<EF>,
    pub comp_z: Vec<EF>,
}

/// The auxiliary (LogUp) commitment of a table with interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuxCommitment {
    pub root: Digest,
    pub claimed_sum: EF,
}

/// Per-table commitments and evaluations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableProof {
    pub log_height: u8,
    pub main_root: Digest,
    pub aux: Option<AuxCommitment>,
    pub comp_root: Digest,
    pub ood: OodValues,
}

/// One query's openings in one table's trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableQuery {
    pub main: MerkleOpening,
    pub aux: Option<MerkleOpening>,
    pub comp: MerkleOpening,
}

/// One query: every table's openings, then one opening per committed FRI layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryProof {
    pub tables: Vec<TableQuery>,
    pub layers: Vec<MerkleOpening>,
}

/// A complete proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub tables: Vec<TableProof>,
    pub fri_roots: Vec<Digest>,
    pub final_poly: Vec<EF>,
    pub pow_nonce: u64,
    pub queries: Vec<QueryProof>,
}

impl Proof {
    /// Size of the encoded proof in bytes.
    pub fn size_bytes(&self) -> usize {
        self.to_bytes().len()
    }
}
