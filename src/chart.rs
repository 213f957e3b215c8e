//! SVG charts, drawn by the lab itself: a line chart (drop time against
//! latency or plan size, with the model as a dashed line) and grouped bars
//! (execute against drop, per release and processor).
//!
//! Plain SVG text with no dependency: the charts are a few dozen elements,
//! and writing them by hand keeps the build as small as the lab needs and
//! the output byte-for-byte reproducible.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// Colours for series and bars, in order (colour-blind safe, Okabe-Ito).
const PALETTE: [&str; 6] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line with a dot at each point: measurements.
    Measured,
    /// A dashed line without dots: a model's prediction.
    Predicted,
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

/// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a
/// power of ten, about five of them.
pub fn ticks(max: f64) -> Vec<f64> {
    if !(max > 0.0) {
        return vec![0.0, 1.0];
    }
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(10.0 * power);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

fn label(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

struct Frame {
    x_max: f64,
    y_max: f64,
}

impl Frame {
    fn x(&self, v: f64) -> f64 {
        LEFT + v / self.x_max * (WIDTH - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        HEIGHT - BOTTOM - v / self.y_max * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(out, r#"<text x="{}" y="28" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#, WIDTH / 2.0, escape(title));
}

/// Axes with grid lines, tick labels and axis titles. `x_ticks` None: the
/// caller labels the x axis itself (bars).
fn axes(out: &mut String, frame: &Frame, x_ticks: Option<&[f64]>, y_ticks: &[f64], x_title: &str, y_title: &str) {
    for &t in y_ticks {
        let y = frame.y(t);
        let _ = writeln!(out, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##, WIDTH - RIGHT);
        let _ = writeln!(out, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, LEFT - 8.0, y + 4.0, label(t));
    }
    if let Some(x_ticks) = x_ticks {
        for &t in x_ticks {
            let x = frame.x(t);
            let _ = writeln!(out, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/>"##, HEIGHT - BOTTOM);
            let _ = writeln!(out, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, HEIGHT - BOTTOM + 18.0, label(t));
        }
    }
    let _ = writeln!(
        out,
        r##"<polyline points="{LEFT},{TOP} {LEFT},{b} {r},{b}" fill="none" stroke="#333"/>"##,
        b = HEIGHT - BOTTOM,
        r = WIDTH - RIGHT
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 18.0,
        escape(x_title)
    );
    let cy = TOP + (HEIGHT - TOP - BOTTOM) / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="22" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 22 {cy:.1})">{}</text>"#,
        escape(y_title)
    );
}

fn legend(out: &mut String, entries: &[(String, &str, Style)]) {
    let x = WIDTH - RIGHT + 16.0;
    for (i, (text, colour, style)) in entries.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 22.0;
        let dash = if *style == Style::Predicted { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="3"{dash}/>"#,
            x + 24.0
        );
        let _ = writeln!(out, r#"<text x="{}" y="{}">{}</text>"#, x + 30.0, y + 4.0, escape(text));
    }
}

/// A line chart of `series`; axes start at 0.
pub fn line_chart(title: &str, x_title: &str, y_title: &str, series: &[Series]) -> String {
    let points = series.iter().flat_map(|s| &s.points);
    let x_ticks = ticks(points.clone().map(|p| p.0).fold(0.0, f64::max));
    let y_ticks = ticks(points.map(|p| p.1).fold(0.0, f64::max));
    let frame = Frame { x_max: *x_ticks.last().unwrap(), y_max: *y_ticks.last().unwrap() };
    let mut out = String::new();
    open(&mut out, title);
    axes(&mut out, &frame, Some(&x_ticks), &y_ticks, x_title, y_title);
    let mut entries = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", frame.x(x), frame.y(y))).collect();
        let dash = if s.style == Style::Predicted { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        );
        if s.style == Style::Measured {
            for &(x, y) in &s.points {
                let _ = writeln!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#, frame.x(x), frame.y(y));
            }
        }
        entries.push((s.label.clone(), colour, s.style));
    }
    legend(&mut out, &entries);
    out.push_str("</svg>\n");
    out
}

/// Grouped bars: one group per `(group label, values)`, one bar per entry
/// of `bar_labels`, each bar labelled with its value.
pub fn grouped_bars(title: &str, y_title: &str, bar_labels: &[&str], groups: &[(String, Vec<f64>)]) -> String {
    let y_ticks = ticks(groups.iter().flat_map(|g| &g.1).copied().fold(0.0, f64::max));
    let frame = Frame { x_max: 1.0, y_max: *y_ticks.last().unwrap() };
    let mut out = String::new();
    open(&mut out, title);
    axes(&mut out, &frame, None, &y_ticks, "", y_title);
    let plot = WIDTH - LEFT - RIGHT;
    let group_width = plot / groups.len().max(1) as f64;
    let bar_width = group_width * 0.8 / bar_labels.len().max(1) as f64;
    for (g, (name, values)) in groups.iter().enumerate() {
        let x0 = LEFT + g as f64 * group_width + group_width * 0.1;
        for (b, &v) in values.iter().enumerate() {
            let x = x0 + b as f64 * bar_width;
            let y = frame.y(v);
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                bar_width - 2.0,
                HEIGHT - BOTTOM - y,
                PALETTE[b % PALETTE.len()]
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
                x + bar_width / 2.0 - 1.0,
                y - 4.0,
                label((v * 10.0).round() / 10.0)
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + group_width * 0.4,
            HEIGHT - BOTTOM + 18.0,
            escape(name)
        );
    }
    let entries: Vec<_> = bar_labels.iter().enumerate().map(|(i, l)| ((*l).to_owned(), PALETTE[i % PALETTE.len()], Style::Measured)).collect();
    legend(&mut out, &entries);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(612.0), vec![0.0, 200.0, 400.0, 600.0, 800.0]);
        assert_eq!(ticks(200.0), vec![0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(ticks(0.0), vec![0.0, 1.0]);
        assert_eq!(ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn a_line_chart_has_its_titles_series_and_a_dashed_prediction() {
        let svg = line_chart(
            "drop vs latency",
            "latency (ms)",
            "drop (ms)",
            &[
                Series { label: "simple".into(), points: vec![(0.0, 1.0), (100.0, 600.0)], style: Style::Measured },
                Series { label: "predicted".into(), points: vec![(0.0, 0.0), (100.0, 610.0)], style: Style::Predicted },
            ],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in ["drop vs latency", "latency (ms)", "drop (ms)", ">simple<", ">predicted<", "stroke-dasharray"] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert_eq!(svg.matches("<circle").count(), 2, "dots on the measured series only");
    }
}
