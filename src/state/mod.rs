//! Tiered state drivers (written next).
