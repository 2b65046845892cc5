//! Query translation.
