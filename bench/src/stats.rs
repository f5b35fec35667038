//! Latency percentiles, server and load-generator usage, and the printed tables.

use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use crate::{
    system,
    target::{Sample, Server},
};

/// Latency percentiles of one run, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latencies {
    /// How many samples the percentiles come from.
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latencies {
    pub fn from_micros(mut micros: Vec<u64>) -> Self {
        if micros.is_empty() {
            return Self {
                count: 0,
                p50: f64::NAN,
                p99: f64::NAN,
                max: f64::NAN,
            };
        }
        micros.sort_unstable();
        let at = |p: f64| micros[((micros.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
        Self {
            count: micros.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }

    pub fn json(&self) -> Value {
        json!({"samples": self.count, "p50": self.p50, "p99": self.p99, "max": self.max})
    }
}

/// The server's and the load generator's usage over one run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Percent of one core.
    pub server_cpu: f64,
    pub load_cpu: f64,
    pub server_rss_mib: f64,
    pub shed: u64,
    /// Render calls per room event at the gateway (below 1 when a busy room's events are
    /// rendered in batches); `None` for servers that do not render.
    pub renders_per_event: Option<f64>,
}

/// A point-in-time reading of both sides.
pub struct Snapshot {
    server: Sample,
    load_cpu_seconds: f64,
}

impl Usage {
    pub async fn sample(server: &Server) -> Result<Snapshot> {
        Ok(Snapshot {
            server: server.probe.sample().await?,
            load_cpu_seconds: system::process_usage("self").map_or(0.0, |(_, cpu)| cpu),
        })
    }

    pub fn json(&self) -> Value {
        json!({
            "server_cpu_percent": self.server_cpu,
            "load_generator_cpu_percent": self.load_cpu,
            "server_rss_mib": self.server_rss_mib,
            "shed": self.shed,
            "renders_per_event": self.renders_per_event,
        })
    }
}

impl Snapshot {
    pub fn since(&self, before: &Snapshot, wall: Duration) -> Usage {
        let secs = wall.as_secs_f64().max(1e-9);
        Usage {
            server_cpu: 100.0 * (self.server.cpu_seconds - before.server.cpu_seconds) / secs,
            load_cpu: 100.0 * (self.load_cpu_seconds - before.load_cpu_seconds) / secs,
            server_rss_mib: self.server.rss_bytes as f64 / 1_048_576.0,
            shed: self.server.shed.saturating_sub(before.server.shed),
            renders_per_event: {
                let events = self.server.events.saturating_sub(before.server.events);
                let renders = self.server.renders.saturating_sub(before.server.renders);
                (events > 0).then(|| renders as f64 / events as f64)
            },
        }
    }
}

/// A fixed-width table: a header row and rows of already formatted cells.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

pub fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_sorted_samples() {
        let l = Latencies::from_micros((1..=100).rev().map(|n| n * 1000).collect());
        assert_eq!((l.p50, l.p99, l.max, l.count), (51.0, 99.0, 100.0, 100));
        assert!(Latencies::from_micros(vec![]).p50.is_nan());
    }
}
