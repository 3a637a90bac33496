//! Charts as SVG, drawn on the server with plotters' SVG backend: no script, no image files,
//! black and grey only (they print in black and white), and no text from data inside the SVG
//! (titles and text alternatives are the page's, escaped by the template; the SVG holds only
//! numbers and dates onshi wrote). Every chart stands beside a table of its numbers.

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
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.3f64..x1 + 0.3, y0..y1)
            .map_err(|e| e.to_string())?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                dates.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(2))
            .x_label_formatter(&label)
            .y_labels(5)
            .light_line_style(BLACK.mix(0.08))
            .draw()
            .map_err(|e| e.to_string())?;
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
