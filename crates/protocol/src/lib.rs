//! rstark-protocol (skeleton; filled in by its issue).
