//! LogUp bus interactions declared by a table.
//!
//! Each interaction, on every row of its table, puts the tuple `values` on bus `bus` with
//! multiplicity `multiplicity` (both evaluated on that row). A positive multiplicity sends, a
//! negative one (the field negation) receives. Over all tables of a proof, every bus must balance:
//! Σ multiplicity / (α − fingerprint_β(bus, values)) = 0.
//!
//! Values and multiplicities are affine in the current row's main columns. That keeps every LogUp
//! constraint at degree 2 whatever the table's own constraints are.

use rstark_field::F;

/// `constant + Σ coeff · main[column]`, evaluated on one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearCombination {
    pub terms: Vec<(usize, F)>,
    pub constant: F,
}

impl LinearCombination {
    /// The value of one main column.
    pub fn column(column: usize) -> Self {
        Self {
            terms: vec![(column, F::new(1))],
            constant: F::new(0),
        }
    }

    /// A constant.
    pub fn constant(value: F) -> Self {
        Self {
            terms: Vec::new(),
            constant: value,
        }
    }

    /// Evaluates on one row of the main trace.
    pub fn eval(&self, row: &[F]) -> F {
        self.terms
            .iter()
            .fold(self.constant, |acc, &(c, k)| acc + k * row[c])
    }

    /// The largest column index used, if any (for validation against the table width).
    pub fn max_column(&self) -> Option<usize> {
        self.terms.iter().map(|&(c, _)| c).max()
    }
}

/// One bus interaction of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub bus: u32,
    pub values: Vec<LinearCombination>,
    pub multiplicity: LinearCombination,
}

impl Interaction {
    /// Sends `values` with multiplicity `multiplicity`.
    pub fn send(bus: u32, values: Vec<LinearCombination>, multiplicity: LinearCombination) -> Self {
        Self {
            bus,
            values,
            multiplicity,
        }
    }

    /// Receives `values` with multiplicity `multiplicity` (negated on the bus).
    pub fn receive(
        bus: u32,
        values: Vec<LinearCombination>,
        multiplicity: LinearCombination,
    ) -> Self {
        let mut m = multiplicity;
        m.constant = -m.constant;
        for t in &mut m.terms {
            t.1 = -t.1;
        }
        Self {
            bus,
            values,
            multiplicity: m,
        }
    }
}

/// The interactions a table declares next to its AIR. The default is none.
pub trait Interactions {
    fn interactions(&self) -> Vec<Interaction> {
        Vec::new()
    }
}
