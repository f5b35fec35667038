//! Percentiles, the machine description and the printed table.

use std::time::Duration;

/// What one run measured.
pub struct Summary {
    pub label: String,
    pub subscribers: usize,
    pub messages: usize,
    pub expected: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub elapsed: Duration,
    /// Send→deliver latencies in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Summary {
    pub fn deliveries_per_sec(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[idx] as f64 / 1000.0
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "run": self.label,
            "subscribers": self.subscribers,
            "messages": self.messages,
            "expected_deliveries": self.expected,
            "delivered": self.delivered,
            "missing": self.expected.saturating_sub(self.delivered),
            "duplicates": self.duplicates,
            "seconds": self.elapsed.as_secs_f64(),
            "deliveries_per_sec": self.deliveries_per_sec(),
            "latency_ms": {"p50": self.percentile_ms(0.5), "p99": self.percentile_ms(0.99), "max": self.percentile_ms(1.0)},
        })
    }
}

pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "machine: {cores} cores, {:.1} GiB memory; load generator and lattice share them",
        mem_kib as f64 / 1048576.0
    )
}

pub fn table(results: &[Summary]) -> String {
    let mut out = format!(
        "{:<14} {:>6} {:>6} {:>10} {:>8} {:>5} {:>12} {:>9} {:>9} {:>9}\n",
        "run",
        "subs",
        "msgs",
        "delivered",
        "missing",
        "dups",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for r in results {
        out.push_str(&format!(
            "{:<14} {:>6} {:>6} {:>10} {:>8} {:>5} {:>12.0} {:>9.2} {:>9.2} {:>9.2}\n",
            r.label,
            r.subscribers,
            r.messages,
            r.delivered,
            r.expected.saturating_sub(r.delivered),
            r.duplicates,
            r.deliveries_per_sec(),
            r.percentile_ms(0.5),
            r.percentile_ms(0.99),
            r.percentile_ms(1.0),
        ));
    }
    out
}
