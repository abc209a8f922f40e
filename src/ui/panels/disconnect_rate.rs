//! Disconnect rate: closes per minute as a share of the open connections, one column per
//! 10 s while the whole history fits and per minute after (newest on the right), with the alarm level of `high-disconnect-rate` marked, and the
//! current figure. Closes here are the unexpected ones that finding counts.

use super::block;
use crate::model::Model;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::{Level, Theme};
use crate::ui::view::Panel;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Rate buckets per minute (the model's buckets are 10 s).
const PER_MINUTE: usize = 6;

/// The chart's columns: the rate over the 60 s up to the end of each column, in percent of
/// the open connections, oldest first, at most `n`, the last up to now. While the log's
/// whole history fits, a column is one 10 s bucket (so the first minutes show their shape);
/// after that, one a minute.
pub struct RateColumns {
    pub values: Vec<f64>,
    /// Seconds of event time a column stands for.
    pub step_secs: u64,
}

pub fn rate_columns(model: &Model, n: usize) -> RateColumns {
    let len = model.closes.buckets().len();
    let step = if len <= n { 1 } else { PER_MINUTE };
    let mut values = Vec::with_capacity(n.min(len));
    // Bucket indexes just past each column's end, newest first.
    let mut end = len;
    while values.len() < n && end > 0 {
        values.push(model.closes.window(end.saturating_sub(PER_MINUTE)).1);
        end = end.saturating_sub(step);
    }
    values.reverse();
    RateColumns {
        values,
        step_secs: step as u64 * 10,
    }
}

/// How far back the left edge of `columns` columns of `step_secs` is: "-90s", "-5m".
fn span_label(columns: u64, step_secs: u64) -> String {
    let secs = columns * step_secs;
    if secs < 120 {
        format!("-{secs}s")
    } else if secs.is_multiple_of(60) {
        format!("-{}m", secs / 60)
    } else {
        format!("-{}m{}s", secs / 60, secs % 60)
    }
}

struct Spark<'a> {
    values: &'a [f64],
    scale: f64,
    alarm_pct: f64,
    theme: &'a Theme,
}

impl Widget for Spark<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let levels = self.theme.spark_levels();
        let sub = levels.len().saturating_sub(1).max(1);
        let h = area.height as usize;
        if h == 0 || area.width == 0 {
            return;
        }
        let units = |v: f64| ((v / self.scale).clamp(0.0, 1.0) * (h * sub) as f64).round() as usize;
        let alarm_row = (units(self.alarm_pct) / sub).min(h - 1);
        let (alarm_ch, alarm_style) = self.theme.alarm_mark();
        let offset = (area.width as usize).saturating_sub(self.values.len());
        for x in 0..area.width as usize {
            let v = x
                .checked_sub(offset)
                .and_then(|i| self.values.get(i))
                .copied();
            let u = v.map(units).unwrap_or(0);
            let style = match v {
                Some(v) if v > self.alarm_pct => self.theme.level(Level::Bad),
                _ => self.theme.spark(),
            };
            for row in 0..h {
                let in_row = u.saturating_sub(row * sub).min(sub);
                let y = area.y + (h - 1 - row) as u16;
                let cell = &mut buf[(area.x + x as u16, y)];
                if in_row == 0 && row == alarm_row {
                    cell.set_symbol(alarm_ch).set_style(alarm_style);
                } else {
                    cell.set_symbol(levels[in_row]).set_style(style);
                }
            }
        }
    }
}

/// Columns left of the chart for the scale.
const AXIS: u16 = 5;

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let model = dash.shown_model();
    let alarm_pct = dash.rules.high_disconnect_rate.alarm_pct;
    let b = block(
        theme,
        Panel::DisconnectRate.title(),
        format!("per minute{}", dash.shown_server_suffix()),
        focused,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if inner.height == 0 {
        return;
    }
    let RateColumns { values, step_secs } =
        rate_columns(model, inner.width.saturating_sub(AXIS) as usize);
    let peak = values.iter().copied().fold(0.0, f64::max);
    let head = headline(model, theme, peak, alarm_pct, inner.width);
    frame.render_widget(Paragraph::new(head), Rect { height: 1, ..inner });
    let mut chart = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    if chart.height == 0 {
        return;
    }
    // A time axis under the columns when there is room: how far back the left edge is.
    if chart.height >= 3 && !values.is_empty() {
        chart.height -= 1;
        let row = Rect {
            x: inner.x.saturating_add(AXIS),
            y: chart.bottom(),
            width: inner.width.saturating_sub(AXIS),
            height: 1,
        };
        let axis = time_axis(row.width, step_secs);
        frame.render_widget(Paragraph::new(Span::styled(axis, theme.dim())), row);
    }
    // The alarm line sits at a fixed height unless the peak is off the scale.
    let scale = (peak * 1.1).max(alarm_pct * 2.0);
    let axis = Rect {
        width: AXIS.min(chart.width),
        ..chart
    };
    let plot = Rect {
        x: chart.x.saturating_add(AXIS),
        width: chart.width.saturating_sub(AXIS),
        ..chart
    };
    let scale_lines = scale_axis(theme, scale, alarm_pct, chart.height as usize);
    frame.render_widget(Paragraph::new(scale_lines), axis);
    frame.render_widget(
        Spark {
            values: &values,
            scale,
            alarm_pct,
            theme,
        },
        plot,
    );
}

/// The rate over the last minute, against the peak and the alarm.
fn headline(model: &Model, theme: &Theme, peak: f64, alarm_pct: f64, width: u16) -> Line<'static> {
    let len = model.closes.buckets().len();
    let (closes, now_pct) = if len > 0 {
        model.closes.window(len.saturating_sub(PER_MINUTE))
    } else {
        (0, 0.0)
    };
    let level = if now_pct > alarm_pct {
        Level::Bad
    } else {
        Level::Ok
    };
    let rest = if width >= 56 {
        format!(" ({closes} closes/60s)  peak {peak:.1} %  alarm {alarm_pct:.0} %")
    } else {
        format!("  peak {peak:.1} %")
    };
    Line::from(vec![
        Span::raw("now "),
        Span::styled(format!("{now_pct:.1} %/min"), theme.level(level)),
        Span::styled(rest, theme.dim()),
    ])
}

/// The row under the columns: the newest column is at the right edge, so the left edge is
/// `width` columns back, whether or not the data reaches that far.
fn time_axis(width: u16, step_secs: u64) -> String {
    let left = span_label(width as u64, step_secs);
    let gap = (width as usize).saturating_sub(left.len() + 3);
    format!("{left}{}now", " ".repeat(gap))
}

/// The scale at the top of the chart and the alarm's level at its row.
fn scale_axis(theme: &Theme, scale: f64, alarm_pct: f64, h: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::default(); h];
    lines[0] = Line::from(Span::styled(format!("{scale:>3.0}%"), theme.dim()));
    let levels = theme.spark_levels().len().saturating_sub(1).max(1);
    let alarm_units = ((alarm_pct / scale) * (h * levels) as f64).round() as usize;
    let alarm_row = (alarm_units / levels).min(h - 1);
    let alarm_line = h - 1 - alarm_row;
    if alarm_line != 0 {
        lines[alarm_line] = Line::from(Span::styled(
            format!("{alarm_pct:>3.0}%"),
            theme.alarm_mark().1,
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_of_the_chart_in_words() {
        assert_eq!(span_label(9, 10), "-90s");
        assert_eq!(span_label(54, 10), "-9m");
        assert_eq!(span_label(55, 10), "-9m10s");
        assert_eq!(span_label(40, 60), "-40m");
    }
}
