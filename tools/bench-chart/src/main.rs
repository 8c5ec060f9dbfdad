//! `bench-chart DATA.tsv OUT.svg`: lookup time against the number of domains, virtcore and
//! libvirt side by side (log-log), from the medians `scripts/bench-domain.sh` writes.
//!
//! DATA.tsv lines: `impl operation domains median_ns low_ns high_ns` (impl `libvirt` or
//! `virtcore`, operation `find_uuid`, `find_name` or `find_id`); low/high are drawn as the
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

fn draw(points: &[Point], out: &str, title: &str) -> Result<(), Box<dyn Error>> {
    let (nmin, nmax) = points
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.n), b.max(p.n)));
    let (tmin, tmax) = points
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.lo), b.max(p.hi)));
    let root = SVGBackend::new(out, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
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
        .y_desc("ns per lookup (median; bars: spread of rounds)")
        .x_label_formatter(&|x| format!("{}k", (*x / 1000.0).round()))
        .y_label_formatter(&|y| {
            if *y >= 1e6 {
                format!("{:.0} ms", y / 1e6)
            } else if *y >= 1e3 {
                format!("{:.0} µs", y / 1e3)
            } else {
                format!("{:.0} ns", y)
            }
        })
        .draw()?;
    let series = [
        (
            "libvirt",
            "find_uuid",
            "libvirt 9.0 FindByUUID",
            RGBColor(200, 60, 40),
            false,
        ),
        (
            "libvirt",
            "find_name",
            "libvirt 9.0 FindByName",
            RGBColor(230, 140, 40),
            false,
        ),
        (
            "libvirt",
            "find_id",
            "libvirt 9.0 FindByID (scans)",
            RGBColor(150, 40, 120),
            false,
        ),
        (
            "virtcore",
            "find_uuid",
            "virtcore FindByUUID",
            RGBColor(30, 90, 200),
            true,
        ),
        (
            "virtcore",
            "find_name",
            "virtcore FindByName",
            RGBColor(40, 160, 200),
            true,
        ),
        (
            "virtcore",
            "find_id",
            "virtcore FindByID",
            RGBColor(40, 150, 80),
            true,
        ),
    ];
    for (imp, op, label, color, solid) in series {
        let mut pts: Vec<&Point> = points
            .iter()
            .filter(|p| p.imp == imp && p.op == op)
            .collect();
        if pts.is_empty() {
            continue;
        }
        pts.sort_by(|a, b| a.n.total_cmp(&b.n));
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: solid,
            stroke_width: 2,
        };
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.n, p.med)), style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(pts.iter().map(|p| Circle::new((p.n, p.med), 4, style)))?;
        chart.draw_series(
            pts.iter()
                .map(|p| PathElement::new(vec![(p.n, p.lo), (p.n, p.hi)], style)),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
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
        .map_or("Domain lookups: virtcore vs libvirt 9.0", |s| s.as_str());
    if let Err(e) = read(&args[1]).and_then(|p| draw(&p, &args[2], title)) {
        eprintln!("bench-chart: {e}");
        std::process::exit(1);
    }
}
