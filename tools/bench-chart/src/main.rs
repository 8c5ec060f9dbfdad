//! `bench-chart DATA.tsv OUT.svg`: time against the number of domains, virtcore and
//! libvirt side by side (log-log), from the medians `scripts/bench-domain.sh` writes: the
//! lookups in the upper panel, the whole-list operations (counts, ID and name lists,
//! Collect, ForEach, LoadAllConfigs) in the lower one.
//!
//! DATA.tsv lines: `impl operation domains median_ns low_ns high_ns` (impl `libvirt` or
//! `virtcore`; operation one of [`LOOKUPS`] or [`LISTS`]); low/high are drawn as the
//! spread of the rounds around each median.

use plotters::prelude::*;
use std::error::Error;

struct Point {
    imp: String,
    op: String,
    n: f64,
    med: f64,
    lo: f64,
    hi: f64,
}

fn read(path: &str) -> Result<Vec<Point>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() || f[0].starts_with('#') {
            continue;
        }
        let num = |k: usize| -> Result<f64, Box<dyn Error>> {
            f.get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    format!("{path}:{}: expected 6 fields, positive numbers", i + 1).into()
                })
        };
        v.push(Point {
            imp: f[0].to_string(),
            op: f.get(1).ok_or("missing operation")?.to_string(),
            n: num(2)?,
            med: num(3)?,
            lo: num(4)?,
            hi: num(5)?,
        });
    }
    if v.is_empty() {
        return Err(format!("{path}: no data").into());
    }
    Ok(v)
}

/// Lookup operations: key, label, colour (upper panel).
const LOOKUPS: &[(&str, &str, RGBColor)] = &[
    ("find_uuid", "FindByUUID", RGBColor(30, 90, 200)),
    ("find_name", "FindByName", RGBColor(40, 160, 200)),
    ("find_id", "FindByID (libvirt scans)", RGBColor(40, 150, 80)),
];

/// Whole-list operations (lower panel): the time of one call for the whole list.
const LISTS: &[(&str, &str, RGBColor)] = &[
    ("count_active", "NumOfDomains", RGBColor(200, 60, 40)),
    ("active_ids", "GetActiveIDs", RGBColor(230, 140, 40)),
    ("inactive_names", "GetInactiveNames", RGBColor(150, 40, 120)),
    ("collect", "Collect+FreeCount", RGBColor(30, 90, 200)),
    ("foreach", "ForEach", RGBColor(40, 150, 80)),
    (
        "load_configs",
        "LoadAllConfigs (configs)",
        RGBColor(90, 90, 90),
    ),
    (
        "load_status",
        "LoadAllConfigs (status)",
        RGBColor(160, 120, 60),
    ),
];

fn time_label(y: &f64) -> String {
    if *y >= 1e9 {
        format!("{:.0} s", y / 1e9)
    } else if *y >= 1e6 {
        format!("{:.0} ms", y / 1e6)
    } else if *y >= 1e3 {
        format!("{:.0} µs", y / 1e3)
    } else {
        format!("{:.0} ns", y)
    }
}

/// One panel: every operation of `ops` present in `points`, libvirt as hollow markers and
/// thin lines, virtcore filled, one colour per operation.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    points: &[Point],
    ops: &[(&str, &str, RGBColor)],
    caption: &str,
    y_desc: &str,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let mine: Vec<&Point> = points
        .iter()
        .filter(|p| ops.iter().any(|(k, _, _)| *k == p.op))
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let (nmin, nmax) = mine
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.n), b.max(p.n)));
    let (tmin, tmax) = mine
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.lo), b.max(p.hi)));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            ((nmin / 1.5)..(nmax * 1.5)).log_scale(),
            ((tmin / 2.0)..(tmax * 2.0)).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("domains in the list")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{}k", (*x / 1000.0).round()))
        .y_label_formatter(&time_label)
        .draw()?;
    for (op, label, color) in ops {
        for (imp, solid) in [("libvirt", false), ("virtcore", true)] {
            let mut pts: Vec<&&Point> = mine
                .iter()
                .filter(|p| p.imp == imp && p.op == *op)
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.n.total_cmp(&b.n));
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: solid,
                stroke_width: if solid { 2 } else { 1 },
            };
            let name = if solid { "virtcore" } else { "libvirt 9.0" };
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.n, p.med)), style))?
                .label(format!("{name} {label}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart.draw_series(pts.iter().map(|p| Circle::new((p.n, p.med), 4, style)))?;
            chart.draw_series(
                pts.iter()
                    .map(|p| PathElement::new(vec![(p.n, p.lo), (p.n, p.hi)], style)),
            )?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

fn draw(points: &[Point], out: &str, title: &str) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(out, (900, 1200)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (upper, lower) = root.split_vertically(520);
    panel(
        &upper,
        points,
        LOOKUPS,
        "Lookups of one domain",
        "ns per lookup (median; bars: spread of rounds)",
    )?;
    panel(
        &lower,
        points,
        LISTS,
        "Whole-list operations (half the domains running)",
        "time per call over the whole list",
    )?;
    root.present()?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bench-chart DATA.tsv OUT.svg [TITLE]");
        std::process::exit(2);
    }
    let title = args
        .get(3)
        .map_or("Domain list: virtcore vs libvirt 9.0", |s| s.as_str());
    if let Err(e) = read(&args[1]).and_then(|p| draw(&p, &args[2], title)) {
        eprintln!("bench-chart: {e}");
        std::process::exit(1);
    }
}
