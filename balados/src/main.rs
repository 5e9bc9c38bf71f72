//! balados
fn main() {}
