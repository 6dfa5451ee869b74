#![allow(clippy::unwrap_used, missing_docs)]
mod common;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use perfloop_engine::{run, Silent};

#[test]
fn smoke() {
    let (addr, _) = common::start_axum();
    let c = common::closed(&format!("http://{addr}/"), 4);
    let o = run(&c, Arc::new(AtomicBool::new(false)), &mut Silent).unwrap();
    println!("{:?} total {} rps {} p99 {} timeline {:?}", o.counts, o.counts.total(), o.throughput_rps(), o.latency.value_at_quantile(0.99), o.timeline);
    let c = common::open(&format!("http://{addr}/"), 2000.0);
    let o = run(&c, Arc::new(AtomicBool::new(false)), &mut Silent).unwrap();
    println!("{:?} total {} rps {} achieved {} p99 {} lag p99 {}", o.counts, o.counts.total(), o.throughput_rps(), o.achieved_rate(), o.latency.value_at_quantile(0.99), o.lag.as_ref().unwrap().value_at_quantile(0.99));
}
