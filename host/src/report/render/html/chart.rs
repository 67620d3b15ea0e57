//! The SVG chart of findings over time: one bar per time bucket, stacked
//! by rule, with a legend of the rules that have findings.
//!
//! It is inline SVG, drawn here rather than by a charting script or an
//! image, because the page is self-contained and its Content-Security-Policy
//! forbids fetching anything; inline markup also shows with JavaScript off.

use std::fmt::Write;

use super::escape;
use crate::events::Timestamp;
use crate::report::render::plural;
use crate::report::{Report, RuleReport};

/// At most this many bars along the chart's time axis.
const MAX_BUCKETS: i64 = 40;

/// The chart's series colours, in the order rules with findings appear.
/// Distinct from each other and legible on white; a policy with more
/// rules than colours reuses them in order.
const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf", "#8c564b", "#bcbd22",
];

/// The time axis of the chart: `count` buckets of `width` seconds from
/// `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeAxis {
    start: i64,
    width: i64,
    count: i64,
}

/// Bucket widths the chart may use, in seconds: round durations, so the
/// axis reads "one bar per hour" rather than "per 4,137 seconds".
const WIDTHS: [i64; 24] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172_800, 604_800, 1_209_600, 2_592_000, 7_862_400, 31_536_000,
];

impl TimeAxis {
    /// The narrowest round bucket width that covers `first..=last` (in
    /// seconds since the epoch) in at most [`MAX_BUCKETS`] buckets. Buckets
    /// start on a multiple of their width, or at midnight UTC for widths
    /// of more than a day.
    fn new(first: i64, last: i64) -> TimeAxis {
        let fits = |width: i64| {
            let start = first - first.rem_euclid(width.min(86_400));
            let count = (last - start) / width + 1;
            (count <= MAX_BUCKETS).then_some(TimeAxis {
                start,
                width,
                count,
            })
        };
        WIDTHS
            .iter()
            .copied()
            .chain((2..).map(|years| years * 31_536_000))
            .find_map(fits)
            .expect("some width of whole years fits any span")
    }

    /// The bucket an instant falls in.
    fn bucket(&self, time: Timestamp) -> usize {
        ((time.seconds - self.start) / self.width).clamp(0, self.count - 1) as usize
    }

    /// The bucket width in words: "day", "15 minutes".
    fn width_label(&self) -> String {
        let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
            .into_iter()
            .find(|(unit, _)| self.width % unit == 0)
            .map_or((self.width, "second"), |(secs, unit)| {
                (self.width / secs, unit)
            });
        if count == 1 {
            unit.to_string()
        } else {
            plural(count as u64, unit)
        }
    }

    /// A bucket's start, as precise as the width needs.
    fn label(&self, bucket: i64) -> String {
        let format = if self.width % 86_400 == 0 {
            "%Y-%m-%d"
        } else if self.width % 60 == 0 {
            "%Y-%m-%d %H:%M"
        } else {
            "%Y-%m-%d %H:%M:%S"
        };
        let seconds = self.start + bucket * self.width;
        chrono::DateTime::from_timestamp(seconds, 0)
            .map_or(seconds.to_string(), |t| t.format(format).to_string())
    }
}

/// The chart's geometry, in SVG user units.
const CHART_WIDTH: f64 = 1000.0;
const PLOT_LEFT: f64 = 56.0;
const PLOT_RIGHT: f64 = 740.0;
const PLOT_TOP: f64 = 16.0;
const PLOT_BOTTOM: f64 = 270.0;
const LEGEND_LEFT: f64 = 764.0;
const LEGEND_ROW: f64 = 20.0;
/// Legend labels longer than this are cut (the full id is in a tooltip).
const LEGEND_CHARS: usize = 26;

/// One rule's bars: its findings counted per bucket.
struct Series<'a> {
    rule: &'a RuleReport,
    colour: &'static str,
    counts: Vec<u64>,
}

/// The chart of findings (open and waived) over time, stacked by rule, or
/// a note when there are none. The page's one way in: it places the
/// section, this module owns everything inside it.
pub(super) fn chart(out: &mut String, report: &Report) {
    out.push_str("<section id=\"chart\">\n<h2>Findings over time</h2>\n");
    let times = report
        .rules
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| f.time);
    let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
        out.push_str("<p class=\"no-findings\">No findings.</p>\n</section>\n");
        return;
    };
    let axis = TimeAxis::new(first.seconds, last.seconds);
    let series: Vec<Series> = report
        .rules
        .iter()
        .filter(|r| !r.findings.is_empty())
        .enumerate()
        .map(|(n, rule)| {
            let mut counts = vec![0; axis.count as usize];
            for finding in &rule.findings {
                counts[axis.bucket(finding.time)] += 1;
            }
            Series {
                rule,
                colour: PALETTE[n % PALETTE.len()],
                counts,
            }
        })
        .collect();
    let tallest = (0..axis.count as usize)
        .map(|b| series.iter().map(|s| s.counts[b]).sum::<u64>())
        .max()
        .unwrap_or(0);
    let step = tick_step(tallest);
    let top = tallest.div_ceil(step).max(1) * step;
    let height = (PLOT_BOTTOM + 56.0).max(PLOT_TOP + LEGEND_ROW * (series.len() as f64 + 1.0));
    out.push_str("<figure>\n");
    let _ = writeln!(
        out,
        "<svg id=\"findings-chart\" xmlns=\"http://www.w3.org/2000/svg\" \
         viewBox=\"0 0 {CHART_WIDTH} {height}\" role=\"img\" aria-labelledby=\"chart-title\">\n\
         <title id=\"chart-title\">Findings per {} by rule</title>",
        axis.width_label()
    );
    chart_y_axis(out, top, step);
    chart_x_axis(out, &axis);
    for n in 0..series.len() {
        chart_bars(out, &series[n], &series[..n], &axis, top);
    }
    chart_legend(out, &series);
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<figcaption>Findings, open and waived, per {} (UTC) from {} to {}, stacked by rule.\
         </figcaption>\n</figure>\n</section>",
        axis.width_label(),
        escape(&axis.label(0)),
        escape(&axis.label(axis.count - 1))
    );
}

/// A round step for at most five gridlines up to `max`: 1, 2 or 5 times a
/// power of ten.
fn tick_step(max: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * power;
            if max.div_ceil(step) <= 5 {
                return step;
            }
        }
        power *= 10;
    }
}

/// The vertical position of a count on a scale up to `top`.
fn y_of(count: u64, top: u64) -> f64 {
    PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * count as f64 / top as f64
}

/// Gridlines, tick labels and the title of the count axis.
fn chart_y_axis(out: &mut String, top: u64, step: u64) {
    out.push_str("<g class=\"axis y-axis\">\n");
    for tick in (0..=top).step_by(step as usize) {
        let y = y_of(tick, top);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{PLOT_LEFT}\" x2=\"{PLOT_RIGHT}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            PLOT_LEFT - 6.0,
            y + 4.0
        );
    }
    let middle = (PLOT_TOP + PLOT_BOTTOM) / 2.0;
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"14\" y=\"{middle:.1}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 14 {middle:.1})\">Findings</text>\n</g>"
    );
}

/// The baseline, tick labels (at most seven) and title of the time axis.
fn chart_x_axis(out: &mut String, axis: &TimeAxis) {
    let slot = (PLOT_RIGHT - PLOT_LEFT) / axis.count as f64;
    let _ = writeln!(
        out,
        "<g class=\"axis x-axis\">\n<line class=\"baseline\" x1=\"{PLOT_LEFT}\" \
         x2=\"{PLOT_RIGHT}\" y1=\"{PLOT_BOTTOM}\" y2=\"{PLOT_BOTTOM}\"/>"
    );
    let every = (axis.count + 6) / 7;
    for bucket in (0..axis.count).step_by(every as usize) {
        let x = PLOT_LEFT + slot * (bucket as f64 + 0.5);
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{PLOT_BOTTOM}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            PLOT_BOTTOM + 5.0,
            PLOT_BOTTOM + 18.0,
            escape(&axis.label(bucket))
        );
    }
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">\
         Time (UTC), one bar per {}</text>\n</g>",
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        PLOT_BOTTOM + 42.0,
        axis.width_label()
    );
}

/// One rule's bars, stacked on the bars of the series `below` it.
fn chart_bars(out: &mut String, series: &Series, below: &[Series], axis: &TimeAxis, top: u64) {
    let slot = (PLOT_RIGHT - PLOT_LEFT) / axis.count as f64;
    let bar = (slot * 0.8).max(1.0);
    let _ = writeln!(
        out,
        "<g class=\"series\" data-rule=\"{}\" fill=\"{}\">",
        escape(&series.rule.id),
        series.colour
    );
    for (bucket, &count) in series.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let base: u64 = below.iter().map(|s| s.counts[bucket]).sum();
        let (y_top, y_base) = (y_of(base + count, top), y_of(base, top));
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{y_top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\">\
             <title>{}: {} from {}</title></rect>",
            PLOT_LEFT + slot * bucket as f64 + (slot - bar) / 2.0,
            y_base - y_top,
            escape(&series.rule.id),
            plural(count, "finding"),
            escape(&axis.label(bucket as i64))
        );
    }
    out.push_str("</g>\n");
}

/// The legend: a swatch, the rule id and its count of findings per series.
fn chart_legend(out: &mut String, series: &[Series]) {
    out.push_str("<g class=\"legend\">\n");
    for (n, s) in series.iter().enumerate() {
        let y = PLOT_TOP + LEGEND_ROW * n as f64;
        let id: String = if s.rule.id.chars().count() > LEGEND_CHARS {
            s.rule
                .id
                .chars()
                .take(LEGEND_CHARS - 1)
                .chain(['…'])
                .collect()
        } else {
            s.rule.id.clone()
        };
        let _ = writeln!(
            out,
            "<g class=\"legend-item\"><title>{}</title>\
             <rect x=\"{LEGEND_LEFT}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{} ({})</text></g>",
            escape(&s.rule.id),
            s.colour,
            LEGEND_LEFT + 18.0,
            y + 10.5,
            escape(&id),
            s.rule.findings.len()
        );
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::super::tests::{finding, report, rule, time};
    use super::*;

    #[test]
    fn no_findings_gives_a_note_instead_of_a_chart() {
        let html = render(&report(vec![rule("a", Vec::new())]));
        assert!(!html.contains("<svg"));
        assert!(html.contains("<p class=\"no-findings\">No findings.</p>"));
        assert!(!html.contains("<table class=\"findings\""));
    }

    #[test]
    fn the_chart_has_one_coloured_series_per_rule_with_findings() {
        let report = report(vec![
            rule(
                "a",
                vec![finding("e1", 0, "m"), finding("e2", 86_400 * 3, "m")],
            ),
            rule("quiet", Vec::new()),
            rule("b", vec![finding("e3", 86_400 * 29 + 5, "m")]),
        ]);
        let html = render(&report);
        assert!(html.contains("<svg id=\"findings-chart\""));
        assert_eq!(html.matches("<g class=\"series\"").count(), 2);
        assert!(html.contains(&format!("data-rule=\"a\" fill=\"{}\"", PALETTE[0])));
        assert!(html.contains(&format!("data-rule=\"b\" fill=\"{}\"", PALETTE[1])));
        assert!(html.contains("one bar per day"));
    }

    #[test]
    fn the_time_axis_uses_round_widths_and_at_most_forty_buckets() {
        assert_eq!(
            TimeAxis::new(10, 10),
            TimeAxis {
                start: 10,
                width: 1,
                count: 1
            }
        );
        let hours = TimeAxis::new(86_400 + 3_600, 86_400 * 20);
        assert_eq!(
            (hours.start, hours.width, hours.count),
            (86_400, 43_200, 39)
        );
        let days = TimeAxis::new(86_400 + 3_600, 86_400 * 30);
        assert_eq!((days.start, days.width, days.count), (86_400, 86_400, 30));
        assert_eq!(days.width_label(), "day");
        assert_eq!(days.label(1), "1970-01-03");
        let years = TimeAxis::new(0, 31_536_000 * 100);
        assert!(years.count <= MAX_BUCKETS && years.width % 31_536_000 == 0);
        for span in [0, 59, 3_600, 86_399, 1_000_000, 99_999_999] {
            let axis = TimeAxis::new(1_772_000_123, 1_772_000_123 + span);
            assert!(axis.count <= MAX_BUCKETS, "{span}: {axis:?}");
            assert_eq!(
                axis.bucket(time(1_772_000_123 + span)),
                axis.count as usize - 1
            );
        }
    }

    #[test]
    fn tick_steps_are_round() {
        let steps: Vec<u64> = [0, 1, 5, 6, 11, 40, 100_000].map(tick_step).to_vec();
        assert_eq!(steps, [1, 1, 1, 2, 5, 10, 20_000]);
    }
}
