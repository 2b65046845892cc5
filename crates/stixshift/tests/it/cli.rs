//! CLI behaviour beyond the reference's examples.
