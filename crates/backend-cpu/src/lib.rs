//! rstark-backend-cpu (skeleton; filled in by its issue).
