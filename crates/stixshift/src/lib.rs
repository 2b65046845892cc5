//! stixshift.
