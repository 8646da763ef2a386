//! From a table (p3 symbolic constraints + LogUp interactions) to a [`ConstraintProgram`]:
//! lower into the hash-consed [`Dag`], schedule constraint by constraint (post-order), then
//! allocate registers by liveness (a register is freed at its value's last use and reused).

use std::collections::HashMap;

use p3_air::{BaseEntry, BaseLeaf, SymbolicExpression};
use p3_field::PrimeField64;
use rstark_air::logup::{aux_ext_width, num_logup_constraints};
use rstark_air::{BaseAir, Interaction, LinearCombination, Table, symbolic_constraints};
use rstark_field::F;

use crate::dag::{Dag, Id, Node};
use crate::error::ConstraintError;
use crate::forward::renumber_hottest_first;
use crate::program::{
    ConstraintProgram, INSTR_WORDS, SEL_FIRST, SEL_LAST, SEL_TRANSITION, op, src,
};

/// Compiles a table's full constraint set: its AIR's constraints (p3's symbolic builder, in
/// assertion order) followed by the LogUp constraints of its interactions (docs/PROTOCOL.md §5.4).
pub fn compile_table(
    air: &dyn Table,
    num_public_values: usize,
) -> Result<ConstraintProgram, ConstraintError> {
    compile_table_with(air, num_public_values, &air.interactions())
}

/// Compiles a table's AIR constraints only (no LogUp constraints, no aux columns): what the
/// device witness check evaluates on the trace domain.
pub fn compile_air(
    air: &dyn Table,
    num_public_values: usize,
) -> Result<ConstraintProgram, ConstraintError> {
    compile_table_with(air, num_public_values, &[])
}

fn compile_table_with(
    air: &dyn Table,
    num_public_values: usize,
    interactions: &[Interaction],
) -> Result<ConstraintProgram, ConstraintError> {
    let constraints = symbolic_constraints(air, num_public_values);
    compile_with(
        &constraints,
        interactions,
        &Widths::of(air, num_public_values),
    )
}

/// The column and public-value counts a table's constraints read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Widths {
    pub main: usize,
    pub preprocessed: usize,
    pub periodic: usize,
    pub public_values: usize,
}

impl Widths {
    /// What [`compile_table`] compiles `air` with, proved with `num_public_values` values.
    pub fn of(air: &dyn Table, num_public_values: usize) -> Self {
        Self {
            main: BaseAir::<F>::width(air),
            preprocessed: BaseAir::<F>::preprocessed_width(air),
            periodic: BaseAir::<F>::num_periodic_columns(air),
            public_values: num_public_values.max(BaseAir::<F>::num_public_values(air)),
        }
    }
}

/// Compiles explicit symbolic constraints plus LogUp interactions over a main trace of
/// `main_width` columns (no preprocessed or periodic columns).
pub fn compile(
    constraints: &[SymbolicExpression<F>],
    interactions: &[Interaction],
    main_width: usize,
    num_public_values: usize,
) -> Result<ConstraintProgram, ConstraintError> {
    let widths = Widths {
        main: main_width,
        public_values: num_public_values,
        ..Widths::default()
    };
    compile_with(constraints, interactions, &widths)
}

/// Compiles explicit symbolic constraints plus LogUp interactions over the columns `widths`
/// gives.
pub fn compile_with(
    constraints: &[SymbolicExpression<F>],
    interactions: &[Interaction],
    widths: &Widths,
) -> Result<ConstraintProgram, ConstraintError> {
    let (main_width, num_public_values) = (widths.main, widths.public_values);
    let mut lower = Lower {
        dag: Dag::default(),
        memo: HashMap::new(),
        widths: *widths,
    };
    let num_air = constraints.len();
    let k = interactions.len();
    let num_constraints = num_air + num_logup_constraints(k);
    let num_beta_pows = interactions
        .iter()
        .map(|i| i.values.len())
        .max()
        .unwrap_or(0);
    // Roots in α-power order: (node, challenge index = constraint index).
    let mut roots = Vec::with_capacity(num_constraints);
    for (i, c) in constraints.iter().enumerate() {
        roots.push((lower.expr(c)?, i as u32));
    }
    if k > 0 {
        let layout = ChallengeLayout {
            logup_alpha: num_constraints as u32,
            beta: num_constraints as u32 + 1,
            claimed_sum: (num_constraints + 1 + num_beta_pows) as u32,
        };
        for (i, c) in lower.logup(interactions, &layout).into_iter().enumerate() {
            roots.push((c, (num_air + i) as u32));
        }
    }
    let code = Codegen::new(&lower.dag, &roots).run()?;
    Ok(ConstraintProgram {
        code: code.words,
        constants: lower.dag.constants,
        num_base_regs: code.base_regs,
        num_ext_regs: code.ext_regs,
        main_width,
        preprocessed_width: widths.preprocessed,
        num_periodic: widths.periodic,
        aux_ext_width: aux_ext_width(k),
        num_public_values,
        num_air_constraints: num_air,
        num_constraints,
        num_beta_pows,
    })
}

struct ChallengeLayout {
    logup_alpha: u32,
    beta: u32,
    claimed_sum: u32,
}

struct Lower {
    dag: Dag,
    /// p3 nodes already lowered, by address (p3's DAG shares `Arc` children).
    memo: HashMap<*const SymbolicExpression<F>, Id>,
    widths: Widths,
}

impl Lower {
    fn index(i: usize, what: &str) -> Result<u32, ConstraintError> {
        if i <= src::INDEX_MASK as usize {
            Ok(i as u32)
        } else {
            Err(ConstraintError::Unsupported(format!(
                "{what} index {i} too large"
            )))
        }
    }

    /// A column index below `width` (and within a fixed operand's 27 bits).
    fn column(i: usize, width: usize, what: &str) -> Result<u32, ConstraintError> {
        if i >= width || i > src::FIXED_COLUMN_MASK as usize {
            return Err(ConstraintError::Unsupported(format!(
                "{what} {i} of {width}"
            )));
        }
        Ok(i as u32)
    }

    /// Whether a row offset is the next row (only current and next rows exist).
    fn offset(offset: usize) -> Result<bool, ConstraintError> {
        match offset {
            0 => Ok(false),
            1 => Ok(true),
            o => Err(ConstraintError::Unsupported(format!(
                "row offset {o} (only current and next rows)"
            ))),
        }
    }

    fn leaf(&mut self, leaf: &BaseLeaf<F>) -> Result<Id, ConstraintError> {
        let node = match leaf {
            BaseLeaf::Constant(c) => return Ok(self.dag.constant(c.as_canonical_u64())),
            BaseLeaf::IsFirstRow => Node::Sel(SEL_FIRST),
            BaseLeaf::IsLastRow => Node::Sel(SEL_LAST),
            BaseLeaf::IsTransition => Node::Sel(SEL_TRANSITION),
            BaseLeaf::Variable(v) => match v.entry {
                BaseEntry::Main { offset } => {
                    let c = Self::column(v.index, self.widths.main, "main column")?;
                    match Self::offset(offset)? {
                        false => Node::MainCur(c),
                        true => Node::MainNext(c),
                    }
                }
                BaseEntry::Public => {
                    if v.index >= self.widths.public_values {
                        return Err(ConstraintError::Unsupported(format!(
                            "public value {} of {}",
                            v.index, self.widths.public_values
                        )));
                    }
                    Node::Public(Self::index(v.index, "public value")?)
                }
                BaseEntry::Preprocessed { offset } => {
                    let c = Self::column(v.index, self.widths.preprocessed, "preprocessed column")?;
                    match Self::offset(offset)? {
                        false => Node::PrepCur(c),
                        true => Node::PrepNext(c),
                    }
                }
                BaseEntry::Periodic => Node::Periodic(Self::column(
                    v.index,
                    self.widths.periodic,
                    "periodic column",
                )?),
            },
        };
        Ok(self.dag.node(node))
    }

    fn expr(&mut self, e: &SymbolicExpression<F>) -> Result<Id, ConstraintError> {
        let key = e as *const SymbolicExpression<F>;
        if let Some(&id) = self.memo.get(&key) {
            return Ok(id);
        }
        let id = match e {
            SymbolicExpression::Leaf(l) => self.leaf(l)?,
            SymbolicExpression::Add { x, y, .. } => {
                let (a, b) = (self.expr(x)?, self.expr(y)?);
                self.dag.node(Node::Add(a, b))
            }
            SymbolicExpression::Sub { x, y, .. } => {
                let (a, b) = (self.expr(x)?, self.expr(y)?);
                self.dag.node(Node::Sub(a, b))
            }
            SymbolicExpression::Mul { x, y, .. } => {
                let (a, b) = (self.expr(x)?, self.expr(y)?);
                self.dag.node(Node::Mul(a, b))
            }
            SymbolicExpression::Neg { x, .. } => {
                let a = self.expr(x)?;
                self.dag.node(Node::Neg(a))
            }
        };
        self.memo.insert(key, id);
        Ok(id)
    }

    /// `constant + Σ coeff · main[column]` on the current row (columns past the trace read as
    /// zero, as `rstark_air::logup` evaluates them).
    fn linear(&mut self, lc: &LinearCombination) -> Id {
        let mut acc: Option<Id> = None;
        for &(c, k) in &lc.terms {
            if c >= self.widths.main {
                continue;
            }
            let col = self.dag.node(Node::MainCur(c as u32));
            let term = if k == F::new(1) {
                col
            } else {
                let kc = self.dag.constant(k.as_canonical_u64());
                self.dag.node(Node::Mul(kc, col))
            };
            acc = Some(match acc {
                Some(a) => self.dag.node(Node::Add(a, term)),
                None => term,
            });
        }
        let constant = lc.constant.as_canonical_u64();
        match acc {
            None => self.dag.constant(constant),
            Some(a) if constant == 0 => a,
            Some(a) => {
                let c = self.dag.constant(constant);
                self.dag.node(Node::Add(a, c))
            }
        }
    }

    /// The LogUp constraints, in protocol order (see `rstark_air::logup`).
    fn logup(&mut self, interactions: &[Interaction], l: &ChallengeLayout) -> Vec<Id> {
        let k = interactions.len();
        let mut out = Vec::with_capacity(k + 3);
        let alpha = self.dag.node(Node::Chal(l.logup_alpha));
        for (j, inter) in interactions.iter().enumerate() {
            // α − fp = (α − Σ_j β^{j+1} v_j) − bus
            let mut denom = alpha;
            for (i, v) in inter.values.iter().enumerate() {
                let v = self.linear(v);
                let beta = self.dag.node(Node::Chal(l.beta + i as u32));
                let t = self.dag.node(Node::EMulB(beta, v));
                denom = self.dag.node(Node::ESub(denom, t));
            }
            let bus = self.dag.constant(inter.bus as u64);
            denom = self.dag.node(Node::ESubB(denom, bus));
            let m = self.linear(&inter.multiplicity);
            let h = self.dag.node(Node::AuxCur(j as u32));
            let hd = self.dag.node(Node::EMul(h, denom));
            out.push(self.dag.node(Node::ESubB(hd, m)));
        }
        let s = self.dag.node(Node::AuxCur(k as u32));
        let s_next = self.dag.node(Node::AuxNext(k as u32));
        let sum = |dag: &mut Dag, next: bool| {
            let mut acc = None;
            for j in 0..k as u32 {
                let h = dag.node(if next {
                    Node::AuxNext(j)
                } else {
                    Node::AuxCur(j)
                });
                acc = Some(match acc {
                    Some(a) => dag.node(Node::EAdd(a, h)),
                    None => h,
                });
            }
            acc.expect("k > 0")
        };
        let h_sum = sum(&mut self.dag, false);
        let h_next_sum = sum(&mut self.dag, true);
        let first = self.dag.node(Node::Sel(SEL_FIRST));
        let last = self.dag.node(Node::Sel(SEL_LAST));
        let trans = self.dag.node(Node::Sel(SEL_TRANSITION));
        let d = self.dag.node(Node::ESub(s, h_sum));
        out.push(self.dag.node(Node::EMulB(d, first)));
        let d = self.dag.node(Node::ESub(s_next, s));
        let d = self.dag.node(Node::ESub(d, h_next_sum));
        out.push(self.dag.node(Node::EMulB(d, trans)));
        let c = self.dag.node(Node::Chal(l.claimed_sum));
        let d = self.dag.node(Node::ESub(s, c));
        out.push(self.dag.node(Node::EMulB(d, last)));
        out
    }
}

struct Code {
    words: Vec<u32>,
    base_regs: u32,
    ext_regs: u32,
}

/// One scheduled instruction over DAG ids: a node's computation, or the accumulation of a root.
#[derive(Clone, Copy)]
enum Step {
    Compute(Id),
    Acc(Id, u32),
}

struct Codegen<'a> {
    dag: &'a Dag,
    roots: &'a [(Id, u32)],
}

/// Free registers, lowest first (keeps the register count of short programs tight).
#[derive(Default)]
struct RegFile {
    free: std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
    count: u32,
}

impl RegFile {
    fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(std::cmp::Reverse(r)) => r,
            None => {
                self.count += 1;
                self.count - 1
            }
        }
    }
    fn release(&mut self, r: u32) {
        self.free.push(std::cmp::Reverse(r));
    }
}

impl<'a> Codegen<'a> {
    fn new(dag: &'a Dag, roots: &'a [(Id, u32)]) -> Self {
        Self { dag, roots }
    }

    /// Post-order schedule: each constraint's not-yet-computed nodes, then its accumulation.
    fn schedule(&self) -> Vec<Step> {
        // Height of each node (nodes are made after their operands, so one forward pass).
        let mut height = vec![0u32; self.dag.nodes.len()];
        for (i, n) in self.dag.nodes.iter().enumerate() {
            let (ops, count) = n.operands();
            height[i] = ops[..count]
                .iter()
                .map(|&o| height[o as usize] + 1)
                .max()
                .unwrap_or(0);
        }
        let mut done = vec![false; self.dag.nodes.len()];
        let mut steps = Vec::new();
        let mut stack: Vec<(Id, bool)> = Vec::new();
        for &(root, chal) in self.roots {
            stack.push((root, false));
            while let Some((id, expanded)) = stack.pop() {
                let n = self.dag.get(id);
                if done[id as usize] || n.is_leaf() {
                    continue;
                }
                if expanded {
                    done[id as usize] = true;
                    steps.push(Step::Compute(id));
                } else {
                    stack.push((id, true));
                    let (mut ops, count) = n.operands();
                    // The deeper operand first (Sethi–Ullman): fewer values live meanwhile.
                    if count == 2 && height[ops[1] as usize] > height[ops[0] as usize] {
                        ops.swap(0, 1);
                    }
                    for &o in ops[..count].iter().rev() {
                        if !done[o as usize] {
                            stack.push((o, false));
                        }
                    }
                }
            }
            steps.push(Step::Acc(root, chal));
        }
        steps
    }

    fn run(self) -> Result<Code, ConstraintError> {
        let steps = self.schedule();
        // Last step reading each node.
        let mut last_use = vec![usize::MAX; self.dag.nodes.len()];
        for (i, s) in steps.iter().enumerate() {
            match *s {
                Step::Compute(id) => {
                    let (ops, count) = self.dag.get(id).operands();
                    for &o in &ops[..count] {
                        last_use[o as usize] = i;
                    }
                }
                Step::Acc(id, _) => last_use[id as usize] = i,
            }
        }
        let mut reg = vec![u32::MAX; self.dag.nodes.len()];
        let (mut base, mut ext) = (RegFile::default(), RegFile::default());
        let mut words = Vec::with_capacity(steps.len() * INSTR_WORDS);
        for (i, s) in steps.iter().enumerate() {
            let (ops, count, dst_node) = match *s {
                Step::Compute(id) => {
                    let (ops, count) = self.dag.get(id).operands();
                    (ops, count, Some(id))
                }
                Step::Acc(id, _) => ([id, 0], 1, None),
            };
            let operand_words = [
                self.operand(ops[0], &reg)?,
                if count == 2 {
                    self.operand(ops[1], &reg)?
                } else {
                    0
                },
            ];
            // Operands whose last use is here give their register back before the result takes
            // one (instructions read operands before writing), so a result may reuse it.
            for (j, &o) in ops[..count].iter().enumerate() {
                let n = self.dag.get(o);
                if n.is_leaf() || last_use[o as usize] != i || (j == 1 && ops[0] == o) {
                    continue;
                }
                let r = reg[o as usize];
                if n.is_ext() {
                    ext.release(r);
                } else {
                    base.release(r);
                }
            }
            match *s {
                Step::Compute(id) => {
                    let n = self.dag.get(id);
                    let dst = if n.is_ext() {
                        ext.alloc()
                    } else {
                        base.alloc()
                    };
                    reg[id as usize] = dst;
                    let opcode = match n {
                        Node::Add(..) => op::ADD,
                        Node::Sub(..) => op::SUB,
                        Node::Mul(..) => op::MUL,
                        Node::Neg(..) => op::NEG,
                        Node::EAdd(..) => op::EADD,
                        Node::ESub(..) => op::ESUB,
                        Node::EMul(..) => op::EMUL,
                        Node::ESubB(..) => op::ESUBB,
                        Node::EMulB(..) => op::EMULB,
                        _ => unreachable!("leaves are never scheduled"),
                    };
                    debug_assert!(dst_node.is_some());
                    words.extend_from_slice(&[opcode, dst, operand_words[0], operand_words[1]]);
                }
                Step::Acc(id, chal) => {
                    let opcode = if self.dag.get(id).is_ext() {
                        op::EACC
                    } else {
                        op::ACC
                    };
                    words.extend_from_slice(&[opcode, chal, operand_words[0], 0]);
                }
            }
        }
        let (base_regs, ext_regs) = renumber_hottest_first(&mut words, base.count, ext.count);
        Ok(Code {
            words,
            base_regs,
            ext_regs,
        })
    }

    fn operand(&self, id: Id, reg: &[u32]) -> Result<u32, ConstraintError> {
        use src::operand;
        Ok(match self.dag.get(id) {
            Node::MainCur(c) => operand(src::MAIN_CUR, c),
            Node::MainNext(c) => operand(src::MAIN_NEXT, c),
            Node::Public(c) => operand(src::PUBLIC, c),
            Node::Const(c) => operand(src::CONST, c),
            Node::Sel(c) => operand(src::SEL, c),
            Node::PrepCur(c) => src::fixed(src::FIXED_PREP_CUR, c),
            Node::PrepNext(c) => src::fixed(src::FIXED_PREP_NEXT, c),
            Node::Periodic(c) => src::fixed(src::FIXED_PERIODIC, c),
            Node::AuxCur(c) => operand(src::AUX_CUR, c),
            Node::AuxNext(c) => operand(src::AUX_NEXT, c),
            Node::Chal(c) => operand(src::CHAL, c),
            n => {
                let r = reg[id as usize];
                if r > src::INDEX_MASK {
                    return Err(ConstraintError::Unsupported(format!(
                        "operand {n:?} read before it is computed"
                    )));
                }
                operand(if n.is_ext() { src::EREG } else { src::REG }, r)
            }
        })
    }
}
