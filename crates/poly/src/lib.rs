//! rstark-poly (skeleton; filled in by its issue).
