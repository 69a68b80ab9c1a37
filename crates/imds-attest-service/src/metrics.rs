//! `GET /metrics`: Prometheus text. Counters are atomics and a map keyed by the library's
//! static kind names, so their number is bounded by the kinds there are.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use imds_attest::{Error, Redeemer, SignerCacheStats};
use time::OffsetDateTime;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            if let Some(c) = self.counts.get(i) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Everything counted.
#[derive(Default)]
pub(crate) struct Metrics {
    /// Verifications by outcome: `verified`, or the rejection's kind.
    verifications: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) requests: Histogram,
    pub(crate) store: Histogram,
}

impl Metrics {
    pub(crate) fn verification(&self, outcome: &'static str) {
        let mut map = match self.verifications.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *map.entry(outcome).or_insert(0) += 1;
    }

    /// The text exposition, with the current verifier's count of issuing CAs proven and its
    /// signer-cache counters (a reload makes a new verifier: they restart from 0, which
    /// Prometheus reads as a counter reset).
    pub(crate) fn render(&self, proven_issuers: usize, signers: SignerCacheStats) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP imds_attest_verifications_total Verifications by outcome (verified, or the rejection's kind).\n\
             # TYPE imds_attest_verifications_total counter\n",
        );
        let map = match self.verifications.lock() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for (outcome, n) in map {
            let _ = writeln!(
                out,
                "imds_attest_verifications_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        self.requests.render(
            &mut out,
            "imds_attest_request_duration_seconds",
            "Time from request to response, all routes.",
        );
        self.store.render(
            &mut out,
            "imds_attest_store_duration_seconds",
            "Time the challenge store took to issue or redeem.",
        );
        let _ = writeln!(
            out,
            "# HELP imds_attest_proven_issuers Issuing CAs the verifier has proven and remembers \
             (a new signer of one costs one signature check, not a chain build).\n\
             # TYPE imds_attest_proven_issuers gauge\nimds_attest_proven_issuers {proven_issuers}"
        );
        let _ = writeln!(
            out,
            "# HELP imds_attest_signer_cache_hits_total Verifications whose signer the verifier \
             remembered (one signature check).\n\
             # TYPE imds_attest_signer_cache_hits_total counter\n\
             imds_attest_signer_cache_hits_total {}\n\
             # HELP imds_attest_signer_cache_misses_total Verifications that proved their signer \
             from scratch (a chain build).\n\
             # TYPE imds_attest_signer_cache_misses_total counter\n\
             imds_attest_signer_cache_misses_total {}",
            signers.hits, signers.misses
        );
        out
    }
}

/// A redeemer that times the store it delegates to; the verdict is the store's.
pub(crate) struct Timed<'a> {
    pub(crate) inner: &'a dyn Redeemer,
    pub(crate) metrics: &'a Metrics,
}

impl Redeemer for Timed<'_> {
    fn redeem_nonce(&self, nonce: &str, at: OffsetDateTime) -> Result<(), Error> {
        let started = std::time::Instant::now();
        let result = self.inner.redeem_nonce(nonce, at);
        self.metrics.store.observe(started.elapsed());
        result
    }

    fn remember_document(
        &self,
        content_sha256: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        let started = std::time::Instant::now();
        let result = self.inner.remember_document(content_sha256, until, at);
        self.metrics.store.observe(started.elapsed());
        result
    }
}
