//! The run as an SVG chart: ops/s of each operation beside its floor, and p50/p99 latency bars,
//! one panel per concurrency level.

use anyhow::anyhow;
use plotters::prelude::*;

use crate::measure::Measurement;

/// The operations charted, in order, each with the floor it is read against.
const PAIRS: [(&str, &str); 4] = [
    ("floor_select", "read_token"),
    ("floor_select", "read_token_2q"),
    ("floor_select", "read_token_unknown"),
    ("floor_insert", "write_token"),
];

const FLOOR: RGBColor = RGBColor(160, 160, 160);
const OURS: RGBColor = RGBColor(31, 119, 180);
const P50: RGBColor = RGBColor(44, 160, 44);
const P99: RGBColor = RGBColor(214, 39, 40);

/// Writes the chart of `results` (one backend's run) to `path`.
pub fn write(path: &std::path::Path, backend: &str, results: &[Measurement]) -> anyhow::Result<()> {
    let mut levels: Vec<usize> = results.iter().map(|m| m.concurrency).collect();
    levels.sort_unstable();
    levels.dedup();
    let height = 360 * levels.len().max(1) as u32;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let rows = root.split_evenly((levels.len().max(1), 2));
    for (row, &concurrency) in levels.iter().enumerate() {
        // A Redis run names its floors floor_get and floor_set.
        let at = |op: &str| {
            let find =
                |name: &str| results.iter().find(|m| m.op == name && m.concurrency == concurrency);
            find(op).or_else(|| find(&crate::report::redis_floor(op)))
        };
        throughput(&rows[row * 2], backend, concurrency, &at)?;
        latency(&rows[row * 2 + 1], backend, concurrency, &at)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// ops/s: for each pair, the floor's bar (grey) beside the operation's (blue).
fn throughput<'a>(
    area: &Area<'_>,
    backend: &str,
    concurrency: usize,
    at: &dyn Fn(&str) -> Option<&'a Measurement>,
) -> anyhow::Result<()> {
    let bars: Vec<(usize, f64, RGBColor)> = PAIRS
        .iter()
        .enumerate()
        .flat_map(|(i, (floor, op))| {
            let floor = at(floor).map(|m| (i * 3, m.ops_per_sec, FLOOR));
            let ours = at(op).map(|m| (i * 3 + 1, m.ops_per_sec, OURS));
            [floor, ours].into_iter().flatten()
        })
        .collect();
    let top = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{backend}, {concurrency} task(s): ops/s (grey: floor)"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0usize..PAIRS.len() * 3, 0f64..top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(PAIRS.len() * 3)
        .x_label_formatter(&|x| {
            if x % 3 == 1 {
                PAIRS.get(x / 3).map_or(String::new(), |p| p.1.to_owned())
            } else {
                String::new()
            }
        })
        .y_desc("ops/s")
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(
            bars.iter().map(|&(x, value, color)| {
                Rectangle::new([(x, 0.0), (x + 1, value)], color.filled())
            }),
        )
        .map_err(plot_error)?;
    Ok(())
}

/// p50 (green) and p99 (red) latency of each operation, in µs.
fn latency<'a>(
    area: &Area<'_>,
    backend: &str,
    concurrency: usize,
    at: &dyn Fn(&str) -> Option<&'a Measurement>,
) -> anyhow::Result<()> {
    let ops: Vec<&str> = [
        "floor_select",
        "read_token",
        "read_token_2q",
        "floor_insert",
        "write_token",
        "destroy_token",
    ]
    .into_iter()
    .filter(|op| at(op).is_some())
    .collect();
    let top = ops.iter().filter_map(|op| at(op)).map(|m| m.p99_us).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{backend}, {concurrency} task(s): latency µs, log scale (green p50, red p99)"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        // Log scale: a p99 in the hundreds of milliseconds (SQLite's writer lock) beside
        // sub-millisecond reads.
        .build_cartesian_2d(0usize..ops.len() * 3, (1f64..top).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(ops.len() * 3)
        .x_label_formatter(&|x| {
            if x % 3 == 1 {
                ops.get(x / 3).map_or(String::new(), |o| (*o).to_owned())
            } else {
                String::new()
            }
        })
        .y_desc("µs")
        .draw()
        .map_err(plot_error)?;
    let bars =
        ops.iter().enumerate().filter_map(|(i, op)| at(op).map(|m| (i, m))).flat_map(|(i, m)| {
            [
                Rectangle::new([(i * 3, 0.0), (i * 3 + 1, m.p50_us)], P50.filled()),
                Rectangle::new([(i * 3 + 1, 0.0), (i * 3 + 2, m.p99_us)], P99.filled()),
            ]
        });
    chart.draw_series(bars).map_err(plot_error)?;
    Ok(())
}

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing the chart: {error}")
}
