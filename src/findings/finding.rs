//! A finding: a named root cause with its evidence and remedy (findings.md).

use serde::Serialize;
use serde_json::{Map, Value};

/// Ordered as reports list them: critical first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// A stable id from findings.md; scripts and alerting match on it.
    pub id: &'static str,
    pub severity: Severity,
    /// One line for a person, saying how strong the evidence is.
    pub summary: String,
    /// At least the fields findings.md lists for this id: each finding's typed evidence,
    /// serialised.
    pub evidence: Map<String, Value>,
    /// What an operator can do about it.
    pub remedy: String,
}

impl Finding {
    /// A finding of rule `id` with its typed `evidence`.
    pub fn new(
        id: &'static str,
        severity: Severity,
        summary: impl Into<String>,
        evidence: &impl Serialize,
        remedy: impl Into<String>,
    ) -> Finding {
        let evidence = match serde_json::to_value(evidence) {
            Ok(Value::Object(map)) => map,
            // Evidence types are structs of numbers, strings and lists: always an object.
            _ => Map::new(),
        };
        Finding {
            id,
            severity,
            summary: summary.into(),
            evidence,
            remedy: remedy.into(),
        }
    }

    /// Adds (or replaces) one evidence field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.evidence.insert(key.to_string(), value.into());
        self
    }
}

/// Sorts findings as reports show them: by severity, then in catalogue order, which lists
/// root causes before symptoms (a disconnect spike).
pub fn sort(findings: &mut [Finding]) {
    let rank = |id: &str| {
        super::Rules::IDS
            .iter()
            .position(|r| *r == id)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(rank(a.id).cmp(&rank(b.id)))
            .then(a.id.cmp(b.id))
    });
}
