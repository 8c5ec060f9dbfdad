//! The lock manager and its plugin interface (DESIGN.md §3).
