//! The statement bound into the transcript before any commitment (docs/PROTOCOL.md §5.2).

use rstark_air::BaseAir;
use rstark_field::F;
use rstark_transcript::Transcript;

use crate::params::StarkParams;
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
    }
    t
}

/// Why a table cannot be proved or verified as declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("table `{0}`: preprocessed columns are not supported")]
    Preprocessed(String),
    #[error("table `{0}`: periodic columns are not supported")]
    Periodic(String),
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

/// Derives and validates a table's shape from its AIR.
pub fn derive_shape(
    name: &str,
    air: &dyn rstark_air::Table,
    num_public_values: usize,
    log_height: usize,
) -> Result<TableShape, ShapeError> {
    if BaseAir::<F>::preprocessed_width(air) > 0 {
        return Err(ShapeError::Preprocessed(name.to_string()));
    }
    if BaseAir::<F>::num_periodic_columns(air) > 0 {
        return Err(ShapeError::Periodic(name.to_string()));
    }
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
    let info = rstark_air::constraint_info(air, num_public_values);
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
    Ok(TableShape {
        name: name.to_string(),
        main_width: width,
        num_interactions: interactions.len(),
        log_height,
        log_quotient_degree: log_qd,
        num_constraints: info.num_constraints,
    })
}
