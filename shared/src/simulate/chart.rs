//! The simulation as an SVG chart: each shard's requests per second against its limit and alarm level, the
//! shard count, and the weights, over the same time axis.

use std::path::Path;

use crate::names::ShardIndex;
use plotters::prelude::*;

use super::{Minute, Simulation};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 900;

fn hours(minute: u32) -> f64 {
    f64::from(minute) / 60.0
}

/// `3` for whole hours, `3.5` between them.
fn hours_label(h: f64) -> String {
    if h.fract() == 0.0 { format!("{h:.0}") } else { format!("{h:.1}") }
}

/// A shard's value over the minutes it existed, as runs of consecutive minutes (an index may be reused).
fn runs(minutes: &[Minute], index: ShardIndex, value: impl Fn(&Minute) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<u32> = None;
    for m in minutes {
        if !m.shards.iter().any(|s| s.index == index) {
            continue;
        }
        let Some(v) = value(m) else { continue };
        if last.is_none_or(|l| l + 1 != m.minute) {
            out.push(Vec::new());
        }
        out.last_mut().expect("pushed").push((hours(m.minute), v));
        last = Some(m.minute);
    }
    out
}

fn shard_indexes(sim: &Simulation) -> Vec<ShardIndex> {
    let mut all: Vec<ShardIndex> = sim.minutes.iter().flat_map(|m| m.shards.iter().map(|s| s.index)).collect();
    all.sort();
    all.dedup();
    all
}

pub fn write_svg(sim: &Simulation, title: &str, path: &Path) -> Result<(), String> {
    let svg = render_svg(sim, title)?;
    std::fs::write(path, svg).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn render_svg(sim: &Simulation, title: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(sim, title, &root).map_err(|e| format!("chart: {e}"))?;
        root.present().map_err(|e| format!("chart: {e}"))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(sim: &Simulation, title: &str, root: &Area<'_>) -> DrawResult {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (load, rest) = root.split_vertically(HEIGHT * 45 / 100);
    let (count, weights) = rest.split_vertically(HEIGHT * 18 / 100);
    let end = hours(sim.minutes.len() as u32).max(1.0 / 60.0);
    let indexes = shard_indexes(sim);
    let colour = |index: ShardIndex| Palette99::pick(usize::from(index.get())).to_rgba();

    let peak = sim.minutes.iter().flat_map(|m| m.shards.iter().map(|s| s.requests_per_second)).fold(0.0, f64::max);
    let top = peak.max(sim.limit_rps) * 1.1;
    let mut chart = ChartBuilder::on(&load)
        .caption("requests per second per shard", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("hours")
        .disable_x_mesh()
        .x_label_formatter(&|h| hours_label(*h))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, sim.limit_rps), (end, sim.limit_rps)], RED.stroke_width(2)))?
        .label("shard limit")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .draw_series(DashedLineSeries::new([(0.0, sim.alarm_rps), (end, sim.alarm_rps)], 6, 4, RED.mix(0.6).into()))?
        .label("alarm level")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.mix(0.6)));
    for &index in &indexes {
        let rps = |m: &Minute| m.shards.iter().find(|s| s.index == index).map(|s| s.requests_per_second);
        for (i, run) in runs(&sim.minutes, index, rps).into_iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(run, colour(index).stroke_width(2)))?;
            if i == 0 {
                series
                    .label(index.to_string())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour(index).stroke_width(2)));
            }
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;

    let most = sim.minutes.iter().map(|m| m.shards.len()).max().unwrap_or(1) as u32 + 1;
    let mut chart = ChartBuilder::on(&count)
        .caption("shards", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end, 0u32..most)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|h| hours_label(*h))
        .y_labels(most as usize + 1)
        .draw()?;
    let counts = sim.minutes.iter().map(|m| (hours(m.minute), m.shards.len() as u32));
    chart.draw_series(LineSeries::new(counts, BLUE.stroke_width(2)))?;

    let mut chart = ChartBuilder::on(&weights)
        .caption("Route 53 weight per shard", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end, 0u32..270u32)?;
    chart.configure_mesh().x_desc("hours").disable_x_mesh().x_label_formatter(&|h| hours_label(*h)).draw()?;
    for &index in &indexes {
        let weight = |m: &Minute| m.shards.iter().find(|s| s.index == index).map(|s| f64::from(s.weight));
        for run in runs(&sim.minutes, index, weight) {
            let points = run.into_iter().map(|(x, y)| (x, y as u32));
            chart.draw_series(LineSeries::new(points, colour(index).stroke_width(2)))?;
        }
    }
    Ok(())
}
