//! The statement bound into the transcript before any commitment (docs/PROTOCOL.md §5.2).

use rstark_air::{BaseAir, SymbolicConstraints};
use rstark_field::F;
use rstark_merkle::Digest;
use rstark_transcript::Transcript;

use crate::key::PreprocessedKey;
use crate::params::StarkParams;
use crate::periodic::{PeriodicColumns, PeriodicError};
use crate::{PROTOCOL_VERSION, TRANSCRIPT_LABEL};

/// One table's shape as both sides derive it (from the AIR, the trace/proof and the params).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub name: String,
    pub main_width: usize,
    pub num_interactions: usize,
    pub log_height: usize,
    /// log2 of the quotient degree factor D.
    pub log_quotient_degree: usize,
    /// Number of the AIR's own constraints.
    pub num_constraints: usize,
    /// Preprocessed (base) columns, 0 without.
    pub preprocessed_width: usize,
    /// Root of the preprocessed columns' commitment (from the key), when there are any.
    pub preprocessed_root: Option<Digest>,
    /// The periodic columns, when there are any.
    pub periodic: Option<PeriodicColumns>,
}

impl TableShape {
    /// Base width of the auxiliary trace (3 per extension column).
    pub fn aux_width(&self) -> usize {
        3 * rstark_air::logup::aux_ext_width(self.num_interactions)
    }

    /// Base width of the composition matrix (D parts × 3).
    pub fn comp_width(&self) -> usize {
        3 << self.log_quotient_degree
    }

    /// Total number of constraints folded into the composition (AIR + LogUp).
    pub fn total_constraints(&self) -> usize {
        self.num_constraints + rstark_air::logup::num_logup_constraints(self.num_interactions)
    }

    /// Whether the table has preprocessed or periodic columns (its statement binding has the
    /// extra part of docs/PROTOCOL.md §5.2).
    pub fn has_fixed_columns(&self) -> bool {
        self.preprocessed_width > 0 || self.periodic.is_some()
    }
}

/// New transcript with the version, the parameters, and each table's name, shape and public
/// values absorbed.
pub fn absorb_instance(
    params: &StarkParams,
    shapes: &[TableShape],
    public_values: &[&[F]],
) -> Transcript {
    let mut t = Transcript::new(TRANSCRIPT_LABEL);
    let mut head = Vec::with_capacity(14);
    head.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    head.extend_from_slice(&params.to_bytes());
    head.extend_from_slice(&(shapes.len() as u32).to_le_bytes());
    t.absorb_bytes(&head);
    for (shape, publics) in shapes.iter().zip(public_values) {
        t.absorb_bytes(shape.name.as_bytes());
        let mut b = Vec::with_capacity(22);
        b.extend_from_slice(&(shape.main_width as u32).to_le_bytes());
        b.extend_from_slice(&(shape.num_interactions as u32).to_le_bytes());
        b.push(shape.log_height as u8);
        b.push(shape.log_quotient_degree as u8);
        b.extend_from_slice(&(shape.num_constraints as u32).to_le_bytes());
        b.extend_from_slice(&(publics.len() as u32).to_le_bytes());
        t.absorb_bytes(&b);
        t.absorb_base(publics);
        if shape.has_fixed_columns() {
            absorb_fixed_columns(&mut t, shape);
        }
    }
    t
}

/// The preprocessed commitment and the periodic columns of a table that has them (§5.2, item 3):
/// `le32(W_p) ‖ le32(C) ‖ le32(P)`, then the preprocessed root (W_p > 0), then the periodic
/// columns' P × C values row by row (C > 0).
fn absorb_fixed_columns(t: &mut Transcript, shape: &TableShape) {
    let (period, columns) = shape
        .periodic
        .as_ref()
        .map_or((0, 0), |p| (p.period, p.num_columns()));
    let mut b = Vec::with_capacity(12);
    for v in [shape.preprocessed_width, columns, period] {
        b.extend_from_slice(&(v as u32).to_le_bytes());
    }
    t.absorb_bytes(&b);
    if shape.preprocessed_width > 0 {
        // derive_shape never makes a shape with preprocessed columns and no root.
        t.absorb_digest(&shape.preprocessed_root.unwrap_or_default());
    }
    if let Some(p) = &shape.periodic {
        t.absorb_base(&p.values.values);
    }
}

/// Why a table cannot be proved or verified as declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error(
        "table `{0}`: the AIR has preprocessed columns: make a key with `setup` and prove and verify with it"
    )]
    MissingKey(String),
    #[error(
        "table `{table}`: the preprocessed trace has 2^{preprocessed} rows, the trace 2^{trace}"
    )]
    PreprocessedHeight {
        table: String,
        preprocessed: usize,
        trace: usize,
    },
    #[error("table `{table}`: the key has {key} preprocessed columns, the AIR {air}")]
    PreprocessedWidth {
        table: String,
        key: usize,
        air: usize,
    },
    #[error("table `{table}`: {source}")]
    Periodic {
        table: String,
        source: PeriodicError,
    },
    #[error(
        "table `{0}`: the AIR lists public boundary cells (public_boundary_io); bind public values with constraints instead"
    )]
    BoundaryCells(String),
    #[error(
        "table `{0}`: the AIR assumes a boolean trace (assumes_boolean_trace), which a commitment to field elements does not enforce"
    )]
    BooleanTrace(String),
    #[error("table `{0}`: AIR has width 0")]
    ZeroWidth(String),
    #[error("table `{table}`: interaction {interaction} reads column {column}, width is {width}")]
    InteractionColumn {
        table: String,
        interaction: usize,
        column: usize,
        width: usize,
    },
    #[error("table `{table}`: the AIR takes {expected} public values, {got} given")]
    PublicValues {
        table: String,
        expected: usize,
        got: usize,
    },
    #[error("table `{table}`: constraint degree {degree} needs a quotient factor above 16")]
    DegreeTooHigh { table: String, degree: usize },
}

/// Derives and validates a table's shape from its AIR and, for a table with preprocessed
/// columns, their commitment from the key.
pub fn derive_shape(
    name: &str,
    air: &dyn rstark_air::Table,
    num_public_values: usize,
    log_height: usize,
    preprocessed: Option<&PreprocessedKey>,
) -> Result<TableShape, ShapeError> {
    derive_shape_and_constraints(name, air, num_public_values, log_height, preprocessed)
        .map(|(shape, _)| shape)
}

/// [`derive_shape`], and the AIR's symbolic constraints it evaluated for it (the prover hands
/// them on to the backend: [`crate::Backend::constraints_known`]).
pub fn derive_shape_and_constraints(
    name: &str,
    air: &dyn rstark_air::Table,
    num_public_values: usize,
    log_height: usize,
    preprocessed: Option<&PreprocessedKey>,
) -> Result<(TableShape, SymbolicConstraints), ShapeError> {
    derive_shape_with(
        name,
        air,
        num_public_values,
        log_height,
        preprocessed,
        || SymbolicConstraints::of(air, num_public_values),
    )
}

/// [`derive_shape_and_constraints`] with the symbolic evaluation made by `evaluate`, which must
/// give `SymbolicConstraints::of(air, num_public_values)`: e.g. one made once for the AIR object
/// and kept ([`rstark_air::SymbolicCache`]). Only the evaluation comes from it; every check and
/// everything that depends on the height or the key is derived here, as without it. It is
/// called where the evaluation would be made (after the checks that keep a malformed AIR from
/// being evaluated), and not at all when one of them fails.
///
/// # Panics
/// If `evaluate` gives constraints evaluated with another number of public values.
pub fn derive_shape_with(
    name: &str,
    air: &dyn rstark_air::Table,
    num_public_values: usize,
    log_height: usize,
    preprocessed: Option<&PreprocessedKey>,
    evaluate: impl FnOnce() -> SymbolicConstraints,
) -> Result<(TableShape, SymbolicConstraints), ShapeError> {
    let preprocessed_width = BaseAir::<F>::preprocessed_width(air);
    let preprocessed_root = match (preprocessed_width, preprocessed) {
        (0, None) => None,
        (_, None) => return Err(ShapeError::MissingKey(name.to_string())),
        (w, Some(k)) if k.width != w => {
            return Err(ShapeError::PreprocessedWidth {
                table: name.to_string(),
                key: k.width,
                air: w,
            });
        }
        (_, Some(k)) if k.log_height != log_height => {
            return Err(ShapeError::PreprocessedHeight {
                table: name.to_string(),
                preprocessed: k.log_height,
                trace: log_height,
            });
        }
        (_, Some(k)) => Some(k.root),
    };
    if !BaseAir::<F>::public_boundary_io(air).is_empty() {
        return Err(ShapeError::BoundaryCells(name.to_string()));
    }
    if BaseAir::<F>::assumes_boolean_trace(air) {
        return Err(ShapeError::BooleanTrace(name.to_string()));
    }
    let periodic = PeriodicColumns::new(
        &BaseAir::<F>::periodic_columns(air),
        BaseAir::<F>::num_periodic_columns(air),
        log_height,
    )
    .map_err(|source| ShapeError::Periodic {
        table: name.to_string(),
        source,
    })?;
    let declared = BaseAir::<F>::num_public_values(air);
    if declared > 0 && declared != num_public_values {
        return Err(ShapeError::PublicValues {
            table: name.to_string(),
            expected: declared,
            got: num_public_values,
        });
    }
    let width = BaseAir::<F>::width(air);
    if width == 0 {
        return Err(ShapeError::ZeroWidth(name.to_string()));
    }
    let interactions = air.interactions();
    for (i, inter) in interactions.iter().enumerate() {
        let cols = inter
            .values
            .iter()
            .chain(std::iter::once(&inter.multiplicity))
            .filter_map(|lc| lc.max_column());
        for column in cols {
            if column >= width {
                return Err(ShapeError::InteractionColumn {
                    table: name.to_string(),
                    interaction: i,
                    column,
                    width,
                });
            }
        }
    }
    let constraints = evaluate();
    assert_eq!(
        constraints.num_public_values(),
        num_public_values,
        "table `{name}`: constraints evaluated for another number of public values"
    );
    let info = constraints.info();
    // An AIR that reads public values it does not declare: refuse the statement here, before
    // any folder hands it a slice shorter than it indexes.
    if info.public_values_read > num_public_values {
        return Err(ShapeError::PublicValues {
            table: name.to_string(),
            expected: info.public_values_read,
            got: num_public_values,
        });
    }
    let mut degree = info.max_degree;
    if !interactions.is_empty() {
        degree = degree.max(rstark_air::logup::LOGUP_CONSTRAINT_DEGREE);
    }
    let log_qd = crate::domain::log_quotient_degree(degree);
    if log_qd > 4 {
        return Err(ShapeError::DegreeTooHigh {
            table: name.to_string(),
            degree,
        });
    }
    let shape = TableShape {
        name: name.to_string(),
        main_width: width,
        num_interactions: interactions.len(),
        log_height,
        log_quotient_degree: log_qd,
        num_constraints: info.num_constraints,
        preprocessed_width,
        preprocessed_root,
        periodic,
    };
    Ok((shape, constraints))
}
