//! The constraint DAG with structural hashing: a node is made once per distinct (operation,
//! operands), so equal subexpressions — shared `Arc`s in p3's symbolic DAG or rebuilt ones —
//! become one node, computed once.

use std::collections::HashMap;

/// Index of a node in [`Dag::nodes`].
pub type Id = u32;

/// A node. Leaves become instruction operands; the rest become instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    // Base-field leaves.
    MainCur(u32),
    MainNext(u32),
    Public(u32),
    /// Index into the constant pool.
    Const(u32),
    Sel(u32),
    /// Preprocessed column, current / next row.
    PrepCur(u32),
    PrepNext(u32),
    Periodic(u32),
    // Extension leaves.
    AuxCur(u32),
    AuxNext(u32),
    Chal(u32),
    // Base-field operations.
    Add(Id, Id),
    Sub(Id, Id),
    Mul(Id, Id),
    Neg(Id),
    // Extension operations (`..B`: the second operand is a base-field node).
    EAdd(Id, Id),
    ESub(Id, Id),
    EMul(Id, Id),
    ESubB(Id, Id),
    EMulB(Id, Id),
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        matches!(
            self,
            Node::MainCur(_)
                | Node::MainNext(_)
                | Node::Public(_)
                | Node::Const(_)
                | Node::Sel(_)
                | Node::PrepCur(_)
                | Node::PrepNext(_)
                | Node::Periodic(_)
                | Node::AuxCur(_)
                | Node::AuxNext(_)
                | Node::Chal(_)
        )
    }

    pub fn is_ext(&self) -> bool {
        matches!(
            self,
            Node::AuxCur(_)
                | Node::AuxNext(_)
                | Node::Chal(_)
                | Node::EAdd(..)
                | Node::ESub(..)
                | Node::EMul(..)
                | Node::ESubB(..)
                | Node::EMulB(..)
        )
    }

    /// Operand node ids (0, 1 or 2).
    pub fn operands(&self) -> ([Id; 2], usize) {
        match *self {
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b)
            | Node::EAdd(a, b)
            | Node::ESub(a, b)
            | Node::EMul(a, b)
            | Node::ESubB(a, b)
            | Node::EMulB(a, b) => ([a, b], 2),
            Node::Neg(a) => ([a, 0], 1),
            _ => ([0, 0], 0),
        }
    }
}

/// Hash-consed nodes plus the constant pool.
#[derive(Default)]
pub struct Dag {
    pub nodes: Vec<Node>,
    index: HashMap<Node, Id>,
    pub constants: Vec<u64>,
    const_index: HashMap<u64, u32>,
}

impl Dag {
    /// The node's id, making it if it is new. Commutative operands are ordered first, so
    /// `a + b` and `b + a` are one node.
    pub fn node(&mut self, n: Node) -> Id {
        let n = match n {
            Node::Add(a, b) if a > b => Node::Add(b, a),
            Node::Mul(a, b) if a > b => Node::Mul(b, a),
            Node::EAdd(a, b) if a > b => Node::EAdd(b, a),
            Node::EMul(a, b) if a > b => Node::EMul(b, a),
            n => n,
        };
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let id = self.nodes.len() as Id;
        self.nodes.push(n);
        self.index.insert(n, id);
        id
    }

    /// A constant (canonical value) as a leaf.
    pub fn constant(&mut self, value: u64) -> Id {
        let k = match self.const_index.get(&value) {
            Some(&k) => k,
            None => {
                let k = self.constants.len() as u32;
                self.constants.push(value);
                self.const_index.insert(value, k);
                k
            }
        };
        self.node(Node::Const(k))
    }

    pub fn get(&self, id: Id) -> Node {
        self.nodes[id as usize]
    }
}
