//! Reports: the model and its findings, printed as JSON (findings.md), text or Markdown.
//!
//! [`Report::from_model`] gathers everything once; the three formats only print it.

mod markdown;
mod servers;
mod text;

pub use servers::ServerReport;

use crate::event::{Ts, codes::close_code_name};
use crate::findings::{Finding, Rules};
use crate::model::fleet::Fleet;
use crate::model::{CloseStats, Model};
use crate::sanitize::inert;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Span {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Connections {
    pub opened: u64,
    pub closed: u64,
    pub open_at_end: usize,
    pub peak_open: usize,
    /// Of those open at the end, how many a snapshot listed (opened before the log began),
    /// for the text forms; findings.md's JSON has no such field.
    #[serde(skip)]
    pub open_from_snapshot: usize,
}

impl Connections {
    fn of(model: &Model) -> Connections {
        Connections {
            opened: model.opened,
            closed: model.closed(),
            open_at_end: model.open_count(),
            peak_open: model.peak_open,
            open_from_snapshot: model.conns.iter().filter(|c| !c.counted_open).count(),
        }
    }
}

/// Closes by code, the codes as strings (findings.md).
fn close_codes_of(model: &Model) -> Map<String, Value> {
    CloseStats::by_code(&model.closes.all_time)
        .iter()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect()
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SkippedExample {
    pub line: u64,
    pub reason: String,
}

/// The `report --format json` object of findings.md, plus a few extra fields.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub protocol: u32,
    pub span: Option<Span>,
    pub events: u64,
    pub skipped_lines: u64,
    pub connections: Connections,
    pub close_codes: Map<String, Value>,
    pub upgrade_rejected: Map<String, Value>,
    pub findings: Vec<Finding>,
    /// Extra: close counts by code, then by initiator (`client`, `server`, `none`, `unknown`).
    pub close_codes_by_initiator: Map<String, Value>,
    pub dropped_events: u64,
    pub unknown_types: u64,
    /// Events that contradicted the state (a close for an unknown conn, a second open...).
    pub contradictions: u64,
    /// Extra: per server, by name (see [`ServerReport`]).
    pub servers: BTreeMap<String, ServerReport>,
    /// The first skipped lines with their line numbers and reasons.
    pub skipped: Vec<SkippedExample>,
}

impl Report {
    pub fn from_model(model: &Model, rules: &Rules) -> Report {
        Report::with_skipped(model, rules, &[])
    }

    /// `skipped` lists the first invalid lines a log reader met (line number, reason).
    pub fn with_skipped(model: &Model, rules: &Rules, skipped: &[(u64, String)]) -> Report {
        let close_codes = close_codes_of(model);
        let mut by_init: BTreeMap<u16, Map<String, Value>> = BTreeMap::new();
        for ((code, init), n) in &model.closes.all_time {
            let who = init.map_or("unknown", |i| i.as_str());
            by_init
                .entry(*code)
                .or_default()
                .insert(who.to_string(), json!(n));
        }
        let close_codes_by_initiator = by_init
            .into_iter()
            .map(|(code, m)| (code.to_string(), Value::Object(m)))
            .collect();
        Report {
            protocol: crate::event::PROTOCOL,
            span: model.span().map(|(from, to)| Span {
                from: from.to_rfc3339(),
                to: to.to_rfc3339(),
            }),
            events: model.counters.events,
            skipped_lines: model.counters.skipped_lines,
            connections: Connections::of(model),
            close_codes,
            upgrade_rejected: model
                .rejected
                .iter()
                .map(|(s, n)| (s.to_string(), json!(n)))
                .collect(),
            findings: rules.evaluate(model),
            close_codes_by_initiator,
            dropped_events: model.dropped(),
            unknown_types: model.counters.unknown_types,
            contradictions: model.counters.contradictions,
            servers: servers::announced(model),
            skipped: skipped
                .iter()
                .map(|(line, reason)| SkippedExample {
                    line: *line,
                    reason: inert(reason).into_owned(),
                })
                .collect(),
        }
    }

    /// The report of a [`Fleet`]: the whole, and each server judged on its own events.
    pub fn from_fleet(fleet: &Fleet, rules: &Rules, skipped: &[(u64, String)]) -> Report {
        let mut report = Report::with_skipped(fleet.whole(), rules, skipped);
        let whole_findings = std::mem::take(&mut report.findings);
        let (servers, judged) = servers::judged(fleet, rules, whole_findings);
        report.servers = servers;
        report.findings = judged.findings;
        report
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Text => text::render(self),
            Format::Markdown => markdown::render(self),
        }
    }

    /// Codes with their counts, most frequent first.
    pub(crate) fn codes_by_count(&self) -> Vec<(u16, u64)> {
        let mut v: Vec<(u16, u64)> = self
            .close_codes
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_u64()?)))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// "none 700, server 80" for a code.
    pub(crate) fn initiators(&self, code: u16) -> String {
        let Some(Value::Object(m)) = self.close_codes_by_initiator.get(&code.to_string()) else {
            return String::new();
        };
        let mut parts: Vec<(&String, u64)> = m
            .iter()
            .filter_map(|(k, v)| Some((k, v.as_u64()?)))
            .collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        parts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The span's ends to the millisecond, for a person (the JSON keeps them as read).
    pub(crate) fn span_text(&self) -> Option<(String, String)> {
        let span = self.span.as_ref()?;
        let ms = |t: &str| {
            Ts::parse(t)
                .map(|ts| {
                    ts.to_datetime()
                        .format("%Y-%m-%d %H:%M:%S%.3fZ")
                        .to_string()
                })
                .unwrap_or_else(|| t.to_string())
        };
        Some((ms(&span.from), ms(&span.to)))
    }

    pub(crate) fn duration_text(&self) -> String {
        let Some(span) = &self.span else {
            return "no events".into();
        };
        let (Some(from), Some(to)) = (Ts::parse(&span.from), Ts::parse(&span.to)) else {
            return String::new();
        };
        human_duration(to.secs_since(from))
    }
}

/// `n` and the noun, singular or plural.
pub(crate) fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ms_text(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Renders the model in one go.
pub fn render(model: &Model, rules: &Rules, format: Format) -> String {
    Report::from_model(model, rules).render(format)
}

pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// `key=value` pairs of a finding's evidence, strings made inert.
pub(crate) fn evidence_pairs(f: &Finding) -> Vec<(String, String)> {
    f.evidence
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => inert(s).into_owned(),
                other => inert(&other.to_string()).into_owned(),
            };
            (k.clone(), v)
        })
        .collect()
}

pub(crate) fn code_label(code: u16) -> String {
    format!("{code} {}", close_code_name(code))
}
