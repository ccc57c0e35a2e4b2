//! Prints measurements: a table with each operation's ratio to its floor, or JSON lines.

use crate::measure::Measurement;
use crate::purge_load::{BATCH, PurgeReport};

/// The floor an operation is compared with, if any.
fn floor_of(op: &str) -> Option<String> {
    match op {
        "write_token" => Some("floor_insert".to_owned()),
        "refresh" => Some("floor_refresh".to_owned()),
        "read_token_replicas" => Some("read_token".to_owned()),
        "login_then_read" => Some("floor_insert_then_select".to_owned()),
        "revoke_then_read" => Some("floor_delete_then_select".to_owned()),
        "read_token_malformed" => None,
        // A logout deletes what a login inserted: the bare INSERT is the write it is held to.
        "destroy_token" => Some("floor_insert".to_owned()),
        "revocation_propagation" => Some("channel_floor".to_owned()),
        "revocation_propagation_paced" => Some("channel_floor_paced".to_owned()),
        // read_token@N is compared with the floor at the same table size.
        op if op.starts_with("read_token@") => Some(op.replacen("read_token", "floor_select", 1)),
        op if op.starts_with("read_token") => Some("floor_select".to_owned()),
        _ => None,
    }
}

/// The Redis run's name for a SQL floor: a bare `GET` under reads, a bare `SET` under logins.
pub fn redis_floor(sql_floor: &str) -> String {
    sql_floor.replacen("floor_select", "floor_get", 1).replacen("floor_insert", "floor_set", 1)
}

/// The MongoDB run's name for a SQL floor: a bare `find_one` by `_id` under reads, a bare
/// `insert_one` under logins.
pub fn mongodb_floor(sql_floor: &str) -> String {
    sql_floor.replacen("floor_select", "floor_find_one", 1).replacen(
        "floor_insert",
        "floor_insert_one",
        1,
    )
}

/// The measurement an operation is compared with: its floor at the same concurrency, under its
/// SQL name, its Redis one or its MongoDB one.
pub fn floor_measurement<'a>(
    results: &'a [Measurement],
    m: &Measurement,
) -> Option<&'a Measurement> {
    let floor = floor_of(&m.op)?;
    let at = |name: &str| results.iter().find(|f| f.op == name && f.concurrency == m.concurrency);
    at(&floor).or_else(|| at(&redis_floor(&floor))).or_else(|| at(&mongodb_floor(&floor)))
}

/// One JSON object per line.
pub fn json(backend: &str, results: &[Measurement], purge: Option<&PurgeReport>) {
    for m in results {
        let mut line = serde_json::json!({
            "backend": backend, "op": m.op, "concurrency": m.concurrency, "ops": m.ops,
            "ops_per_sec": m.ops_per_sec, "p50_us": m.p50_us, "p99_us": m.p99_us,
        });
        if let Some(stale) = m.stale {
            line["stale"] = stale.into();
        }
        println!("{line}");
    }
    if let Some(p) = purge {
        let line = serde_json::json!({
            "backend": backend, "op": "purge_expired", "rows": p.rows,
            "seconds": p.elapsed.as_secs_f64(), "batch": BATCH,
        });
        println!("{line}");
    }
}

/// A table, each operation beside its floor at the same concurrency.
pub fn table(backend: &str, results: &[Measurement], purge: Option<&PurgeReport>) {
    println!(
        "{:<8} {:<26} {:>4} {:>12} {:>10} {:>10}  vs floor",
        "backend", "op", "conc", "ops/s", "p50 µs", "p99 µs"
    );
    for m in results {
        let mut ratio = floor_measurement(results, m)
            .map(|f| match m.op.as_str() {
                // A latency beside a latency: what the cache adds to the channel's own time.
                "revocation_propagation" | "revocation_propagation_paced" => format!(
                    "p50 +{:.1} µs, p99 +{:.1} µs over {}",
                    m.p50_us - f.p50_us,
                    m.p99_us - f.p99_us,
                    f.op
                ),
                _ => format!("{:.2} × {}", m.ops_per_sec / f.ops_per_sec, f.op),
            })
            .unwrap_or_default();
        if let Some(stale) = m.stale {
            ratio = format!("{ratio:<34} stale reads: {stale}");
        }
        println!(
            "{backend:<8} {:<26} {:>4} {:>12.0} {:>10.1} {:>10.1}  {ratio}",
            m.op, m.concurrency, m.ops_per_sec, m.p50_us, m.p99_us
        );
    }
    if let Some(p) = purge {
        println!(
            "{backend:<8} purge_expired: {} rows in {:.2}s ({:.0} rows/s, batches of {BATCH})",
            p.rows,
            p.elapsed.as_secs_f64(),
            p.rows as f64 / p.elapsed.as_secs_f64().max(1e-9)
        );
    }
}
