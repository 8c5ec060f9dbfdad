//! Domain objects and the domain object list (DESIGN.md §2).
