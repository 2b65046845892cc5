//! Placeholder (created so the workspace manifest resolves); the simulator author replaces it.
fn main() {}
