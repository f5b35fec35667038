//! Runs the chosen scenarios against the chosen servers (the baseline, Socket.IO, wcc), prints
//! the tables, writes JSON.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::{
    client::now_us,
    connections, fanout,
    fanout::{Audience, FanoutRun},
    hops, ingest, login_storm, overload,
    publisher::Publisher,
    socketio_server,
    stats::{ms, table},
    system::{Machine, Pinning},
    target::{self, Probe, Server},
    Args, ServerKind,
};

pub async fn run_all(
    args: Args,
    machine: Machine,
    pinning: Option<Pinning>,
    open_files: u64,
) -> Result<()> {
    let header = format!(
        "machine: {} cores, {:.1} GiB memory, open-file limit {}; {}",
        machine.cores,
        machine.memory_gib,
        open_files,
        Pinning::describe(pinning.as_ref())
    );
    println!("{header}");
    let wants = |s: &str| args.scenarios.iter().any(|x| x == s);
    let mut json_out: BTreeMap<&str, Value> = BTreeMap::new();
    json_out.insert("machine", json!(header));
    if !args.vars.is_empty() {
        println!("wcc started with --var {}", args.vars.join(" --var "));
        json_out.insert("vars", json!(args.vars));
    }

    let servers: Vec<&str> = args.servers.iter().map(|s| s.name()).collect();
    println!("servers: {}", servers.join(", "));
    json_out.insert("servers", json!(servers));
    let measures = |kind: ServerKind| args.servers.contains(&kind);
    let mut fanouts = Vec::new();
    if wants("fanout") {
        if measures(ServerKind::Baseline) {
            let baseline = target::start_baseline(pinning.as_ref()).await?;
            fanouts.extend(fanout_all(&baseline, &args).await?);
            baseline.stop().await;
        }
        if measures(ServerKind::Socketio) {
            let dir = args
                .socketio_dir
                .clone()
                .unwrap_or_else(socketio_server::default_dir);
            let socketio = socketio_server::start(&dir, pinning.as_ref()).await?;
            fanouts.extend(fanout_all(&socketio, &args).await?);
            socketio.stop().await;
        }
    }

    if measures(ServerKind::Wcc) {
        wcc_all(
            &args,
            pinning.as_ref(),
            open_files,
            &mut fanouts,
            &mut json_out,
        )
        .await?;
    } else {
        if wants("fanout") {
            report_fanout(&fanouts, pinning.as_ref(), &mut json_out);
        }
        let wcc_only: Vec<&str> = args
            .scenarios
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "fanout")
            .collect();
        if !wcc_only.is_empty() {
            println!(
                "\nnot run, they measure wcc alone and --servers has no wcc: {}",
                wcc_only.join(", ")
            );
        }
    }

    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&json_out)?)?;
    println!("results written to {}", args.out.display());
    Ok(())
}

/// Starts wcc, runs every chosen scenario on it (the fan-out table, every server's rows, is
/// printed after wcc's fan-out), and stops it.
async fn wcc_all(
    args: &Args,
    pinning: Option<&Pinning>,
    open_files: u64,
    fanouts: &mut Vec<FanoutRun>,
    json_out: &mut BTreeMap<&'static str, Value>,
) -> Result<()> {
    let state = tempfile::Builder::new().prefix("wcc-bench-").tempdir()?;
    let wcc = target::start_wcc(args.wcc_options(state.path(), pinning, &args.vars)?).await?;
    println!(
        "wcc is up (lattice logs in {})",
        state.path().join("logs").display()
    );
    let outcome = wcc_scenarios(&wcc, args, pinning, open_files, fanouts, json_out).await;
    wcc.stop().await;
    if outcome.is_err() || args.keep_logs {
        // Keep the logs of a failed run, or when asked.
        let kept = state.keep();
        eprintln!("lattice logs kept in {}", kept.join("logs").display());
    }
    outcome
}

async fn wcc_scenarios(
    wcc: &Server,
    args: &Args,
    pinning: Option<&Pinning>,
    open_files: u64,
    fanouts: &mut Vec<FanoutRun>,
    json_out: &mut BTreeMap<&'static str, Value>,
) -> Result<()> {
    if args.scenarios.iter().any(|s| s == "fanout") {
        fanouts.extend(fanout_all(wcc, args).await?);
        report_fanout(fanouts, pinning, json_out);
    }
    if args.scenarios.iter().any(|s| s == "ingest") {
        let tag = now_us().to_string();
        let paced = ingest::run(
            wcc,
            args.ingest_senders,
            args.ingest_rooms,
            args.ingest_messages,
            None,
            &format!("{tag}a"),
        )
        .await?;
        let rated = ingest::run(
            wcc,
            args.ingest_senders,
            args.ingest_rooms,
            args.ingest_messages,
            Some(args.ingest_rate),
            &format!("{tag}b"),
        )
        .await?;
        let rows: Vec<Vec<String>> = [&paced, &rated]
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.senders.to_string(),
                    r.rooms.to_string(),
                    format!("{}/{}", r.acked, r.sent),
                    format!("{:.0}", r.acked_per_sec()),
                    ms(r.ack_latency.p50),
                    ms(r.ack_latency.p99),
                    ms(r.ack_latency.max),
                    format!("{:.0}", r.usage.server_cpu),
                    format!("{:.0}", r.usage.load_cpu),
                ]
            })
            .collect();
        println!(
            "\ningest (wcc on {} host{}; every ack is a persisted message)",
            args.hosts,
            if args.hosts == 1 { "" } else { "s" }
        );
        print!(
            "{}",
            table(
                &[
                    "run",
                    "senders",
                    "rooms",
                    "acked",
                    "persisted/s",
                    "ack p50 ms",
                    "p99 ms",
                    "max ms",
                    "gw cpu%",
                    "lg cpu%"
                ],
                &rows
            )
        );
        json_out.insert("ingest", json!([paced.json(), rated.json()]));
    }
    if args.scenarios.iter().any(|s| s == "overload") {
        let spec = overload::OverloadSpec {
            stalled: if args.smoke { 2 } else { 20 },
            readers: if args.smoke { 5 } else { 100 },
            publishers: if args.smoke { 2 } else { 8 },
            rate_per_publisher: if args.smoke { 100 } else { 1000 },
            seconds: args.overload_seconds,
            padding: 1024,
            queue_frames: args.send_queue_frames,
        };
        let r = overload::run(wcc, &spec, &now_us().to_string()).await?;
        println!(
            "\noverload (wcc; {} stalled subscribers never read, {} readers)",
            r.stalled, r.readers
        );
        print!(
            "{}",
            table(
                &[
                    "offered/s",
                    "seconds",
                    "acked",
                    "evicted 1008",
                    "shed",
                    "reader deliveries",
                    "gw rss start MiB",
                    "max MiB",
                    "end MiB"
                ],
                &[vec![
                    r.offered_per_sec.to_string(),
                    format!("{:.1}", r.seconds),
                    r.acked.to_string(),
                    format!("{}/{}", r.evicted, r.stalled),
                    r.shed.to_string(),
                    r.reader_deliveries.to_string(),
                    format!("{:.1}", r.rss_start_mib),
                    format!("{:.1}", r.rss_max_mib),
                    format!("{:.1}", r.rss_end_mib),
                ]]
            )
        );
        println!(
            "bound: {} queue frames x ~{} bytes per connection before a connection is shed",
            r.queue_frames, r.frame_bytes
        );
        json_out.insert("overload", r.json());
    }
    if args.scenarios.iter().any(|s| s == "login-storm") {
        let spec = login_storm::StormSpec {
            chatters: args.storm_chatters,
            rate: args.storm_rate,
            seconds: args.storm_seconds,
            clients: args.storm_clients,
            real_targets: 3,
            unknown_targets: 2,
        };
        let r = login_storm::run(wcc, &spec, &now_us().to_string()).await?;
        r.print(&spec);
        json_out.insert("login_storm", r.json(&spec));
    }
    if args.scenarios.iter().any(|s| s == "hops") {
        // Last but one: it wants an idle server, and the connections scenario leaves it full.
        let room = format!("hops-{}", now_us());
        target::create_room(wcc, &room)?;
        let Probe::Gateway(nats) = &wcc.probe else {
            bail!("hops needs the lattice's NATS")
        };
        println!("\nhops (wcc; one message at a time, its calls seen on NATS)");
        let ack_ms = hops::run(nats, wcc.addr, &room, if args.smoke { 5 } else { 50 }).await?;
        json_out.insert("hops", json!({"ack_p50_ms": ack_ms}));
    }
    if args.scenarios.iter().any(|s| s == "connections") {
        let r = connections::run(wcc, args.connections, open_files).await?;
        println!("\nconnections (wcc gateway, idle websockets)");
        print!(
            "{}",
            table(
                &[
                    "asked",
                    "open",
                    "gateway sees",
                    "failed",
                    "ramp s",
                    "gw rss before MiB",
                    "after MiB",
                    "bytes/conn",
                    "chat at size",
                    "chat ms"
                ],
                &[vec![
                    r.asked.to_string(),
                    r.open.to_string(),
                    r.gateway_open.to_string(),
                    r.failed.to_string(),
                    format!("{:.1}", r.ramp_seconds),
                    format!("{:.1}", r.rss_before_mib),
                    format!("{:.1}", r.rss_after_mib),
                    format!("{:.0}", r.bytes_per_connection()),
                    if r.chat_works { "works" } else { "FAILED" }.to_string(),
                    ms(r.chat_ms),
                ]]
            )
        );
        if let Some(note) = &r.limit_note {
            println!("limit: {note}");
        }
        json_out.insert("connections", r.json());
    }
    Ok(())
}

/// Every room size and rate against one server.
async fn fanout_all(server: &Server, args: &Args) -> Result<Vec<FanoutRun>> {
    let mut runs = Vec::new();
    for (size_index, size) in args.subscribers.iter().enumerate() {
        let tag = format!("{}-{size}-{}", server.name, now_us());
        let room = format!("fanout-{tag}");
        target::create_room(server, &room)?;
        let audience = Audience::connect(server, &room, *size, &tag).await?;
        eprintln!(
            "{}: {} subscribers connected in {:.1}s ({} retried)",
            server.name, size, audience.connect_seconds, audience.connect_retries
        );
        let mut publisher = Publisher::connect(server, &room, &tag).await?;
        let mut run_id = (size_index as u32 + 1) * 100;
        let rates = std::iter::once(None).chain(args.rates.iter().map(|r| Some(*r)));
        for rate in rates {
            let messages = if rate.is_some() {
                args.messages
            } else {
                args.paced_messages
            };
            // The server may close the publisher (a call it could not answer, see
            // docs/design.md): then reconnect and run this rate once more.
            for attempt in 0..2 {
                run_id += 1;
                if attempt > 0 {
                    let again = format!("{tag}-again{run_id}");
                    publisher = Publisher::connect(server, &room, &again).await?;
                }
                match fanout::run(
                    server,
                    &audience,
                    &mut publisher,
                    &room,
                    run_id,
                    rate,
                    messages,
                )
                .await
                {
                    Ok(run) => {
                        runs.push(run);
                        break;
                    }
                    Err(e) => eprintln!("{}: publisher lost ({e:#})", server.name),
                }
            }
        }
    }
    Ok(runs)
}

/// Prints the fan-out table of every server measured, and the ratios, and keeps them as JSON.
fn report_fanout(
    runs: &[FanoutRun],
    pinning: Option<&Pinning>,
    json_out: &mut BTreeMap<&'static str, Value>,
) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.server.to_string(),
                r.subscribers.to_string(),
                r.label.clone(),
                r.delivered.to_string(),
                r.expected.saturating_sub(r.delivered).to_string(),
                r.duplicates.to_string(),
                r.unacked.to_string(),
                format!("{:.0}", r.deliveries_per_sec()),
                ms(r.latency.p50),
                ms(r.latency.p99),
                ms(r.latency.max),
                format!("{:.0}", r.usage.server_cpu),
                format!("{:.0}", r.usage.load_cpu),
                format!("{:.0}", r.usage.server_rss_mib),
                r.usage.shed.to_string(),
                r.usage
                    .renders_per_event
                    .map_or("-".into(), |x| format!("{x:.2}")),
            ]
        })
        .collect();
    println!(
        "\nfan-out (one room, one publisher; {})",
        Pinning::describe(pinning)
    );
    print!(
        "{}",
        table(
            &[
                "server",
                "subs",
                "run",
                "delivered",
                "missing",
                "dups",
                "unacked",
                "deliv/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "srv cpu%",
                "lg cpu%",
                "srv rss MiB",
                "shed",
                "renders/event"
            ],
            &rows
        )
    );
    let ratios = ratio_rows(runs);
    if !ratios.is_empty() {
        println!("\nratios (same load, same run)");
        print!(
            "{}",
            table(
                &["servers", "subs", "run", "deliv/s ratio", "p99 ratio"],
                &ratios
            )
        );
    }
    json_out.insert("fanout", fanout_json(runs));
}

/// Each server against the ones it is compared with, where both ran the same load.
const COMPARED: [(&str, &str); 3] = [
    ("wcc", "baseline"),
    ("socketio", "baseline"),
    ("wcc", "socketio"),
];

fn ratio_rows(runs: &[FanoutRun]) -> Vec<Vec<String>> {
    COMPARED
        .iter()
        .flat_map(|(server, against)| {
            runs.iter()
                .filter(move |r| r.server == *server)
                .filter_map(move |s| {
                    let a = runs.iter().find(|a| {
                        a.server == *against && a.subscribers == s.subscribers && a.label == s.label
                    })?;
                    Some(vec![
                        format!("{server} / {against}"),
                        s.subscribers.to_string(),
                        s.label.clone(),
                        format!(
                            "{:.2}",
                            s.deliveries_per_sec() / a.deliveries_per_sec().max(1e-9)
                        ),
                        format!("{:.2}", s.latency.p99 / a.latency.p99),
                    ])
                })
        })
        .collect()
}

fn fanout_json(runs: &[FanoutRun]) -> Value {
    Value::Array(
        runs.iter()
            .map(|r| {
                json!({
                    "server": r.server, "subscribers": r.subscribers, "run": r.label,
                    "messages": r.messages, "expected": r.expected, "delivered": r.delivered,
                    "missing": r.expected.saturating_sub(r.delivered), "duplicates": r.duplicates,
                    "unacked": r.unacked, "seconds": r.seconds,
                    "deliveries_per_sec": r.deliveries_per_sec(), "latency_ms": r.latency.json(),
                    "usage": r.usage.json(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Latencies, Usage};

    fn paced(server: &'static str, delivered: u64, p99: f64) -> FanoutRun {
        FanoutRun {
            server,
            label: "ack-paced".into(),
            subscribers: 1000,
            messages: 10,
            expected: delivered,
            delivered,
            duplicates: 0,
            unacked: 0,
            seconds: 1.0,
            latency: Latencies {
                count: 1,
                p50: p99,
                p99,
                max: p99,
            },
            usage: Usage::default(),
        }
    }

    #[test]
    fn each_server_is_compared_with_the_baseline_and_wcc_with_socketio() {
        let runs = [
            paced("baseline", 1000, 10.0),
            paced("socketio", 500, 20.0),
            paced("wcc", 250, 40.0),
        ];
        let row = |servers: &str, deliveries: &str, p99: &str| {
            [servers, "1000", "ack-paced", deliveries, p99]
                .map(String::from)
                .to_vec()
        };
        assert_eq!(
            ratio_rows(&runs),
            vec![
                row("wcc / baseline", "0.25", "4.00"),
                row("socketio / baseline", "0.50", "2.00"),
                row("wcc / socketio", "0.50", "2.00"),
            ]
        );
    }

    #[test]
    fn a_server_left_out_leaves_out_its_ratios() {
        let runs = [paced("socketio", 500, 20.0), paced("wcc", 250, 40.0)];
        let rows = ratio_rows(&runs);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][0], "wcc / socketio");
        let mut other_size = paced("baseline", 1000, 10.0);
        other_size.subscribers = 5000;
        assert!(ratio_rows(&[other_size, paced("wcc", 250, 40.0)]).is_empty());
    }
}
