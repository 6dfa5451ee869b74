//! The exporter of a bench record besides JSON: the human summary in the manner of
//! hyperfine (`text.rs`).

mod text;

pub use self::text::{BenchText, render_bench_text};
