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
/// (an extension column contributes its three coefficient columns). The preprocessed columns'
/// are empty for a table without any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OodValues {
    pub prep_z: Vec<EF>,
    pub prep_zw: Vec<EF>,
    pub main_z: Vec<EF>,
    pub main_zw: Vec<EF>,
    pub aux_z: Vec<EF>,
    pub aux_zw: Vec<EF>,
    pub comp_z: Vec<EF>,
}

impl OodValues {
    /// The lists in transcript order (docs/PROTOCOL.md §5.5): preprocessed at z and zω (only for
    /// a table with preprocessed columns), main at z and zω, aux at z and zω, composition at z.
    pub fn transcript_lists(&self, preprocessed: bool) -> Vec<&[EF]> {
        let prep = [&self.prep_z, &self.prep_zw];
        let rest = [
            &self.main_z,
            &self.main_zw,
            &self.aux_z,
            &self.aux_zw,
            &self.comp_z,
        ];
        prep.into_iter()
            .filter(|_| preprocessed)
            .chain(rest)
            .map(Vec::as_slice)
            .collect()
    }
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
    /// The preprocessed tree's opening (tables with preprocessed columns only).
    pub preprocessed: Option<MerkleOpening>,
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
    /// Size of the encoded proof in bytes (`to_bytes().len()`, counted without encoding: a
    /// Keccak proof is megabytes).
    pub fn size_bytes(&self) -> usize {
        crate::codec::encoded_len(self)
    }
}
