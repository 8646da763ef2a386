//! rstark-backend-cuda (skeleton; filled in by its issue).
