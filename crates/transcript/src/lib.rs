//! rstark-transcript (skeleton; filled in by its issue).
