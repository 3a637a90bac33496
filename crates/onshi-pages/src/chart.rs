//! Charts as SVG, drawn on the server: no script, no image files, black and grey only (they
//! print in black and white). Trends and bars use plotters' SVG backend (which escapes its
//! text); the radar is onshi's own, since plotters has no polar coordinates. Titles and text
//! alternatives are the page's, escaped by the template. Every chart stands beside a table of
//! its numbers.

use plotters::prelude::*;

/// One item's values over the years.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Exam dates (YYYY-MM-DD) and values, oldest first.
    pub points: Vec<(String, f64)>,
    /// 保健指導判定値, drawn as a dashed line.
    pub guidance: Option<f64>,
    /// 受診勧奨判定値, drawn as a dotted line.
    pub referral: Option<f64>,
}

/// A chart drawn on an SVG string, with numbers along both axes.
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The frame every chart shares: margins, the scale on the left with a light grid, and
/// `labels` along the bottom at whole positions (every `step`-th of them), `ticks` places
/// offered to plotters for them.
fn axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    labels: &[String],
    ticks: usize,
    step: usize,
) -> Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    let label = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize).is_multiple_of(step) {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(ticks)
        .x_label_formatter(&label)
        .y_labels(5)
        .light_line_style(BLACK.mix(0.08))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// The legend of the series drawn with labels, boxed, at `position`.
fn draw_legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Width and height of a trend chart, in SVG units.
pub const SIZE: (u32, u32) = (480, 220);

fn dashed(
    from: (f64, f64),
    to: (f64, f64),
    dash: f64,
    gap: f64,
    style: ShapeStyle,
) -> Vec<PathElement<(f64, f64)>> {
    let mut out = Vec::new();
    let mut x = from.0;
    while x < to.0 {
        let end = (x + dash).min(to.0);
        out.push(PathElement::new(vec![(x, from.1), (end, to.1)], style));
        x = end + gap;
    }
    out
}

/// The SVG of `trend`: the values as a line with a mark at each exam, the judgement values as
/// horizontal lines (dashed: guidance, dotted: referral).
pub fn trend_svg(trend: &Trend) -> Result<String, String> {
    let values: Vec<f64> = trend
        .points
        .iter()
        .map(|(_, v)| *v)
        .chain(trend.guidance)
        .chain(trend.referral)
        .collect();
    let (low, high) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    if values.is_empty() {
        return Err("no values".into());
    }
    let pad = ((high - low) * 0.15).max(1.0);
    let (y0, y1) = (low - pad, high + pad);
    let n = trend.points.len();
    let x1 = (n.max(2) - 1) as f64;
    let dates: Vec<String> = trend.points.iter().map(|(d, _)| d.clone()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = axes(&root, -0.3f64..x1 + 0.3, y0..y1, &dates, n.max(2), 1)?;
        let grey = RGBColor(90, 90, 90).stroke_width(1);
        if let Some(g) = trend.guidance {
            chart
                .draw_series(dashed((-0.3, g), (x1 + 0.3, g), 0.12, 0.06, grey))
                .map_err(|e| e.to_string())?;
        }
        if let Some(r) = trend.referral {
            chart
                .draw_series(dashed((-0.3, r), (x1 + 0.3, r), 0.02, 0.04, grey))
                .map_err(|e| e.to_string())?;
        }
        let points: Vec<(f64, f64)> = trend
            .points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (i as f64, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), BLACK.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, BLACK.filled())))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    // The figure is described by the page (its caption and table); the SVG itself is
    // presentation for readers that see it.
    Ok(svg.replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

/// A bar chart: per category, one bar per series side by side, or the series stacked in one
/// bar. A value that is masked or not computable is `None` and draws no bar (the table beside
/// the chart says × or –).
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// The categories along the axis (fiscal years, kinds of facility, prefectures).
    pub categories: Vec<String>,
    /// Each series' name, for the legend.
    pub names: Vec<String>,
    /// Each series' value per category: `values[series][category]`.
    pub values: Vec<Vec<Option<f64>>>,
    /// Stack the series instead of setting them side by side.
    pub stacked: bool,
    /// The top of the scale (100 for percentages); else the largest bar, rounded up.
    pub max: Option<f64>,
}

/// The fills of up to four series, told apart in black and white.
const BAR_FILLS: [RGBColor; 4] = [
    RGBColor(0, 0, 0),
    RGBColor(110, 110, 110),
    RGBColor(185, 185, 185),
    RGBColor(255, 255, 255),
];

/// The SVG of `bars`: categories along the bottom, the scale on the left, a legend when there
/// is more than one series; every bar outlined in black.
pub fn bars_svg(bars: &Bars) -> Result<String, String> {
    let n = bars.categories.len();
    if n == 0 || bars.values.is_empty() {
        return Err("no bars".into());
    }
    if bars.values.len() > BAR_FILLS.len() {
        return Err(format!("at most {} series", BAR_FILLS.len()));
    }
    if bars.names.len() != bars.values.len() || bars.values.iter().any(|v| v.len() != n) {
        return Err("a name per series and a value per category".into());
    }
    let top = |c: usize| -> f64 {
        let vals = bars.values.iter().map(|v| v[c].unwrap_or(0.0).max(0.0));
        if bars.stacked {
            vals.sum()
        } else {
            vals.fold(0.0, f64::max)
        }
    };
    let highest = (0..n).map(top).fold(0.0, f64::max);
    let ymax = match bars.max {
        Some(m) if m > 0.0 => m,
        _ => nice_ceiling(highest),
    };
    let k = bars.values.len();
    let legend = k > 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = axes(
            &root,
            -0.5f64..n as f64 - 0.5,
            0f64..ymax,
            &bars.categories,
            n,
            1,
        )?;
        let width = 0.7;
        for (s, series) in bars.values.iter().enumerate() {
            let fill = BAR_FILLS[s];
            let rects: Vec<[(f64, f64); 2]> = series
                .iter()
                .enumerate()
                .filter_map(|(c, v)| {
                    let v = (*v)?.max(0.0);
                    let x = c as f64;
                    Some(if bars.stacked {
                        let below: f64 = bars.values[..s]
                            .iter()
                            .map(|o| o[c].unwrap_or(0.0).max(0.0))
                            .sum();
                        [(x - width / 2.0, below), (x + width / 2.0, below + v)]
                    } else {
                        let w = width / k as f64;
                        let x0 = x - width / 2.0 + w * s as f64;
                        [(x0, 0.0), (x0 + w, v)]
                    })
                })
                .collect();
            let drawn = chart
                .draw_series(
                    rects
                        .iter()
                        .map(|r| Rectangle::new(*r, fill.filled().stroke_width(1))),
                )
                .map_err(|e| e.to_string())?;
            if legend {
                drawn.label(bars.names[s].as_str()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], fill.filled())
                });
            }
            chart
                .draw_series(
                    rects
                        .iter()
                        .map(|r| Rectangle::new(*r, BLACK.stroke_width(1))),
                )
                .map_err(|e| e.to_string())?;
        }
        if legend {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg.replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

/// Lines over a long axis (weeks): up to three series, told apart in black and white by their
/// grey and their width, with a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    /// The points along the axis (week-ending dates), oldest first.
    pub x: Vec<String>,
    /// Each series' name and value per point.
    pub series: Vec<(String, Vec<f64>)>,
    /// The top of the scale (100 for percentages); else the largest value, rounded up.
    pub max: Option<f64>,
}

/// The strokes of up to three line series.
const LINE_STROKES: [(RGBColor, u32); 3] = [
    (RGBColor(0, 0, 0), 3),
    (RGBColor(110, 110, 110), 2),
    (RGBColor(170, 170, 170), 4),
];

/// The SVG of `lines`: about eight dates along the bottom, the scale on the left.
pub fn lines_svg(lines: &Lines) -> Result<String, String> {
    let n = lines.x.len();
    if n == 0 || lines.series.is_empty() {
        return Err("no points".into());
    }
    if lines.series.len() > LINE_STROKES.len() {
        return Err(format!("at most {} series", LINE_STROKES.len()));
    }
    if lines.series.iter().any(|(_, v)| v.len() != n) {
        return Err("a value per point in every series".into());
    }
    let highest = lines
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0, f64::max);
    let ymax = match lines.max {
        Some(m) if m > 0.0 => m,
        _ => nice_ceiling(highest),
    };
    let x1 = (n.max(2) - 1) as f64;
    let step = (n / 8).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = axes(&root, 0f64..x1, 0f64..ymax, &lines.x, n.min(400), step)?;
        for (s, (name, values)) in lines.series.iter().enumerate() {
            let (colour, width) = LINE_STROKES[s];
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(width)))
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(width))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg.replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `v` (10 for nothing).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 10.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_an_svg_of_its_points_and_judgement_lines() {
        let trend = Trend {
            points: vec![
                ("2022-05-20".into(), 124.0),
                ("2023-05-22".into(), 131.0),
                ("2024-05-20".into(), 138.0),
            ],
            guidance: Some(130.0),
            referral: Some(140.0),
        };
        let svg = trend_svg(&trend).unwrap_or_else(|e| panic!("{e}"));
        assert!(svg.starts_with("<svg aria-hidden=\"true\""), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "a mark per exam");
        for date in ["2022-05-20", "2023-05-22", "2024-05-20"] {
            assert!(svg.contains(date), "{date} on the axis");
        }
        assert!(svg.contains("<polyline"), "the line");
        assert!(!svg.contains("<script"));
        // Black and grey only: it prints in black and white.
        for colour in svg.split("stroke=\"#").skip(1).map(|s| &s[..6]) {
            let [r, g, b] =
                [0, 2, 4].map(|i| u8::from_str_radix(&colour[i..i + 2], 16).unwrap_or(1));
            assert!(r == g && g == b, "{colour} is not a grey");
        }
    }
}

/// One series of a radar chart: a value per axis on the scale `0..=max`.
#[derive(Debug, Clone, PartialEq)]
pub struct RadarSeries {
    /// The values, in axis order.
    pub values: Vec<f64>,
    /// Drawn dashed (a comparison, such as an average) rather than solid.
    pub dashed: bool,
    /// Drawn dotted (a second comparison), unfilled; overrides `dashed`.
    pub dotted: bool,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A radar chart (the 5-grade profiles of scoring reports and workplace sheets), in onshi's own
/// few lines because plotters draws no polar axes: `axes` labels around a circle (at least
/// three), rings at each grade up to `max` (five rings when `max` is over 10, as for
/// percentages), and each series as a closed polygon (solid, or
/// dashed for a comparison), black and grey so it prints in black and white. Labels are
/// escaped here.
pub fn radar_svg(axes: &[String], max: f64, series: &[RadarSeries]) -> Result<String, String> {
    use std::fmt::Write as _;
    let n = axes.len();
    if n < 3 || max <= 0.0 {
        return Err("a radar chart needs three axes or more and a positive scale".into());
    }
    if series.iter().any(|s| s.values.len() != n) {
        return Err("every series needs a value per axis".into());
    }
    let (w, h, r) = (420.0_f64, 360.0_f64, 120.0_f64);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let point = |i: usize, v: f64| {
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
        let k = v.clamp(0.0, max) / max * r;
        (cx + k * angle.cos(), cy + k * angle.sin())
    };
    let polygon = |values: &[f64]| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = point(i, *v);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        r#"<svg aria-hidden="true" focusable="false" width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">"#
    );
    // A ring per grade on a grade scale (up to 10); five rings on a larger one (percentages).
    let rings = if max <= 10.0 {
        max.round().max(1.0) as usize
    } else {
        5
    };
    for ring in 1..=rings {
        let level = max * ring as f64 / rings as f64;
        let _ = write!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#BBBBBB" stroke-width="1"/>"##,
            polygon(&vec![level; n])
        );
    }
    for (i, label) in axes.iter().enumerate() {
        let (x, y) = point(i, max);
        let (lx, ly) = point(i, max * 1.18);
        let anchor = if (lx - cx).abs() < 1.0 {
            "middle"
        } else if lx > cx {
            "start"
        } else {
            "end"
        };
        let _ = write!(
            svg,
            r##"<line x1="{cx}" y1="{cy}" x2="{x:.1}" y2="{y:.1}" stroke="#BBBBBB" stroke-width="1"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}" dominant-baseline="middle" font-size="12" fill="#000000">{}</text>"##,
            escape(label)
        );
    }
    for s in series {
        let dash = if s.dotted {
            r#" stroke-dasharray="2 3""#
        } else if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let fill = if s.dashed || s.dotted {
            "none"
        } else {
            "#000000\" fill-opacity=\"0.12"
        };
        let _ = write!(
            svg,
            r##"<polygon points="{}" fill="{fill}" stroke="#000000" stroke-width="2"{dash}/>"##,
            polygon(&s.values)
        );
        for (i, v) in s.values.iter().enumerate() {
            let (x, y) = point(i, *v);
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#000000"/>"##
            );
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

#[cfg(test)]
mod bar_tests {
    use super::*;

    /// The distinct bars of an SVG (each is drawn filled, then outlined): x, y, width,
    /// height, leaving out the background and the legend's boxes.
    fn bars_of(svg: &str) -> Vec<(f64, f64, f64, f64)> {
        let mut out: Vec<(f64, f64, f64, f64)> = svg
            .split("<rect")
            .skip(1)
            .map(|r| {
                let attr = |name: &str| -> f64 {
                    let key = format!(" {name}=\"");
                    let i = r.find(&key).unwrap() + key.len();
                    r[i..i + r[i..].find('"').unwrap()].parse().unwrap()
                };
                (attr("x"), attr("y"), attr("width"), attr("height"))
            })
            .filter(|r| r.2 > 12.0 && r.2 < 200.0 && r.1 > 40.0)
            .collect();
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out.dedup();
        out
    }

    fn bars(stacked: bool) -> Bars {
        Bars {
            categories: vec!["2022年度".into(), "2023年度".into(), "<2024>".into()],
            names: vec!["男性".into(), "女性".into()],
            values: vec![
                vec![Some(40.0), Some(50.0), None],
                vec![Some(20.0), Some(25.0), Some(30.0)],
            ],
            stacked,
            max: Some(100.0),
        }
    }

    #[test]
    fn side_by_side_bars_are_as_tall_as_their_values_and_a_masked_one_is_not_drawn() {
        let svg = bars_svg(&bars(false)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            svg.contains("2023年度") && svg.contains("&lt;2024&gt;"),
            "{svg}"
        );
        assert!(svg.contains("男性") && svg.contains("女性"), "the legend");
        assert!(!svg.contains("<script"));
        let drawn = bars_of(&svg);
        // Five values: no bar for the masked one. Left to right: 40, 20 | 50, 25 | 30.
        let heights: Vec<f64> = drawn.iter().map(|r| r.3).collect();
        assert_eq!(heights.len(), 5, "{drawn:?}");
        let per_unit = heights[2] / 50.0;
        for (h, v) in heights.iter().zip([40.0, 20.0, 50.0, 25.0, 30.0]) {
            assert!((h - v * per_unit).abs() < 1.5, "{v}: {drawn:?}");
        }
        // On a scale of 100, not of the tallest bar.
        assert!(
            per_unit * 100.0 < 200.0 && per_unit * 100.0 > 120.0,
            "{per_unit}"
        );
    }

    #[test]
    fn stacked_bars_sit_on_each_other() {
        let svg = bars_svg(&bars(true)).unwrap_or_else(|e| panic!("{e}"));
        let drawn = bars_of(&svg);
        assert_eq!(drawn.len(), 5, "{drawn:?}");
        // 2022: 40, and 20 standing on it, in one column.
        let (low, high) = if drawn[0].1 > drawn[1].1 {
            (drawn[0], drawn[1])
        } else {
            (drawn[1], drawn[0])
        };
        assert_eq!(low.0, high.0, "one column");
        assert!((high.1 + high.3 - low.1).abs() < 1.0, "{drawn:?}");
        assert!((low.3 / high.3 - 2.0).abs() < 0.1, "{drawn:?}");
        assert!(
            bars_svg(&Bars {
                values: vec![vec![Some(1.0)]],
                ..bars(true)
            })
            .is_err()
        );
    }

    #[test]
    fn the_scale_rounds_up_to_a_nice_number() {
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 10.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
    }
}

#[cfg(test)]
mod radar_tests {
    use super::*;

    #[test]
    fn a_radar_has_a_ring_per_grade_an_axis_per_label_and_a_polygon_per_series() {
        let axes: Vec<String> = ["健診受診率", "保健指導", "喫煙", "運動", "<睡眠>"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let svg = radar_svg(
            &axes,
            5.0,
            &[
                RadarSeries {
                    values: vec![4.0, 3.0, 5.0, 2.0, 9.0],
                    dashed: false,
                    dotted: false,
                },
                RadarSeries {
                    values: vec![3.0; 5],
                    dashed: true,
                    dotted: false,
                },
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            svg.matches("<polygon").count(),
            5 + 2,
            "five rings, two series"
        );
        assert_eq!(svg.matches("<line").count(), 5);
        assert_eq!(svg.matches("<circle").count(), 10);
        assert!(
            svg.contains("&lt;睡眠&gt;") && !svg.contains("<睡眠>"),
            "labels escaped"
        );
        assert!(svg.contains("stroke-dasharray"), "the comparison is dashed");
        // A value past the scale stops at the outer ring: the fifth axis (198°) at radius 120.
        assert!(svg.contains(r#"<circle cx="95.9" cy="142.9""#), "{svg}");
        assert!(radar_svg(&axes[..2], 5.0, &[]).is_err());
        assert!(
            radar_svg(
                &axes,
                5.0,
                &[RadarSeries {
                    values: vec![1.0],
                    dashed: false,
                    dotted: false,
                }]
            )
            .is_err()
        );
    }
}
