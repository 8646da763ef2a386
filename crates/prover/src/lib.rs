//! rstark-prover (skeleton; filled in by its issue).
