//! The optimisation strategies the findings recommend, cited from the catalogue
//! (`004_57728ef7ad85b9c6.txt`, "系统优化指南", a Chinese survey of back-end optimisation in
//! eight parts: interfaces, call paths, storage, code, databases, system configuration,
//! call chains, principles).
//!
//! Each strategy is cited by its section number and its title exactly as the catalogue's
//! `### N.M title` heading writes it, with an English name beside it. The catalogue's
//! headings are stored with this crate in `catalogue/headings.md` (which names the source
//! file and its SHA-256); a unit test checks the titles against them and fails if the file
//! is missing. Only the strategies the rules use are listed.

use perfloop_report::{Recommendation, StrategyRef};

/// A catalogue strategy: section, title as written in the catalogue, title in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Strategy {
    /// Section number, e.g. `5.8`.
    pub section: &'static str,
    /// The section's title in the catalogue.
    pub name: &'static str,
    /// The title in English.
    pub name_en: &'static str,
}

impl Strategy {
    /// A recommendation of this strategy with `advice` on how it applies.
    pub fn advise(self, advice: impl Into<String>) -> Recommendation {
        Recommendation {
            strategy: StrategyRef {
                section: self.section.to_owned(),
                name: self.name.to_owned(),
                name_en: self.name_en.to_owned(),
            },
            advice: advice.into(),
        }
    }
}

const fn s(section: &'static str, name: &'static str, name_en: &'static str) -> Strategy {
    Strategy {
        section,
        name,
        name_en,
    }
}

/// 1.1: serve the core data on its own, the slow non-core data apart.
pub(crate) const SPLIT_CORE_DATA: Strategy = s(
    "1.1",
    "核心数据与非核心数据拆分",
    "Split core and non-core data",
);
/// 2.7: call independent downstream services in parallel rather than one after another.
pub(crate) const PARALLEL_CALLS: Strategy = s("2.7", "并行调用", "Parallel calls");
/// 4.1: move non-essential work off the request path.
pub(crate) const ASYNC_PROCESSING: Strategy = s("4.1", "异步化处理", "Asynchronous processing");
/// 4.2: merge per-item work into batches.
pub(crate) const BATCHING: Strategy = s("4.2", "批量处理优化", "Batch processing");
/// 4.3: log less on hot paths, asynchronously.
pub(crate) const LESS_LOGGING: Strategy = s("4.3", "减少日志打印", "Less logging");
/// 4.4: bound the data loaded per request (memory, GC).
pub(crate) const BOUNDED_QUERIES: Strategy = s(
    "4.4",
    "避免一次性查询过多数据",
    "Avoid loading too much data at once",
);
/// 4.7: better algorithms and data structures (CPU per request).
pub(crate) const EFFICIENT_ALGORITHMS: Strategy = s(
    "4.7",
    "使用高效算法和数据结构",
    "Efficient algorithms and data structures",
);
/// 5.8: reuse connections through a pool of the right size.
pub(crate) const CONNECTION_POOL: Strategy = s("5.8", "使用连接池", "Connection pooling");
/// 5.9: hold transactions and locks for as short a time as possible.
pub(crate) const SHORT_TRANSACTIONS: Strategy = s("5.9", "避免长事务", "Avoid long transactions");
/// 5.10: serve hot data from a cache instead of recomputing or refetching it.
pub(crate) const CACHING: Strategy = s(
    "5.10",
    "使用缓存减少数据库压力",
    "Cache to relieve the database",
);
/// 6.1: size the worker pool to the hardware and the load.
pub(crate) const THREAD_POOL: Strategy = s("6.1", "增加线程池", "Enlarge the thread pool");
/// 6.2: tune the heap and the garbage collector to shorten pauses.
pub(crate) const RUNTIME_TUNING: Strategy = s("6.2", "调整JVM参数", "Tune the JVM (heap and GC)");
/// 6.3: spread requests over more instances or nodes.
pub(crate) const LOAD_BALANCING: Strategy = s("6.3", "配置负载均衡", "Load balancing");
/// 6.4: non-blocking I/O so that a waiting request holds no thread.
pub(crate) const ASYNC_IO: Strategy = s("6.4", "使用异步IO", "Asynchronous I/O");
/// 6.6: admission control: rate limits and connection limits.
pub(crate) const LIMITS: Strategy = s("6.6", "限制带宽和连接数", "Limit bandwidth and connections");
/// 6.9: release data that is no longer needed.
pub(crate) const PURGE_STALE_DATA: Strategy =
    s("6.9", "定期清理无效数据", "Purge stale data periodically");
/// 7.5: trace the call chain to find where time goes.
pub(crate) const TRACING: Strategy = s("7.5", "调用链追踪和优化", "Call-chain tracing");
/// 7.6: degrade non-core dependencies, with timeouts and circuit breakers.
pub(crate) const DEGRADATION: Strategy = s("7.6", "降级非核心服务", "Degrade non-core services");
/// 8.1: find the real bottleneck before optimising.
pub(crate) const FIND_THE_BOTTLENECK: Strategy = s(
    "8.1",
    "性能优化的核心原则",
    "Core principles: find the bottleneck first",
);

/// Every strategy the rules cite.
#[cfg(test)]
const ALL: [Strategy; 19] = [
    SPLIT_CORE_DATA,
    PARALLEL_CALLS,
    ASYNC_PROCESSING,
    BATCHING,
    LESS_LOGGING,
    BOUNDED_QUERIES,
    EFFICIENT_ALGORITHMS,
    CONNECTION_POOL,
    SHORT_TRANSACTIONS,
    CACHING,
    THREAD_POOL,
    RUNTIME_TUNING,
    LOAD_BALANCING,
    ASYNC_IO,
    LIMITS,
    PURGE_STALE_DATA,
    TRACING,
    DEGRADATION,
    FIND_THE_BOTTLENECK,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn every_cited_heading_exists_in_the_catalogue() {
        // The catalogue's headings are part of the crate: a missing file fails the test.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/catalogue/headings.md");
        let catalogue = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the catalogue's headings {path}: {e}"));
        let headings: Vec<&str> = catalogue
            .lines()
            .filter(|l| l.starts_with("### "))
            .collect();
        for strategy in ALL {
            let heading = format!("### {} {}", strategy.section, strategy.name);
            assert!(
                headings.contains(&heading.as_str()),
                "`{heading}` is not a heading of the catalogue"
            );
            assert!(!strategy.name_en.is_empty());
        }
    }

    #[test]
    fn sections_are_distinct() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.section, b.section);
            }
        }
    }
}
