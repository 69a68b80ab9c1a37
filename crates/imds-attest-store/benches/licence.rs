//! Redemptions per second per backend (written below).
fn main() {}
