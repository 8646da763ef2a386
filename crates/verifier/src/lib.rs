//! rstark-verifier (skeleton; filled in by its issue).
