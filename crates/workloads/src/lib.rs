//! rstark-workloads (skeleton; filled in by its issue).
