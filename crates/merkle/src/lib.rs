//! rstark-merkle (skeleton; filled in by its issue).
