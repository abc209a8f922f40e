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
    /// One line for a person.
    pub summary: String,
    /// At least the fields findings.md lists for this id.
    pub evidence: Map<String, Value>,
    /// What an operator can do about it.
    pub remedy: String,
}

impl Finding {
    pub fn new(id: &'static str, severity: Severity, summary: impl Into<String>) -> Finding {
        Finding {
            id,
            severity,
            summary: summary.into(),
            evidence: Map::new(),
            remedy: String::new(),
        }
    }

    pub fn evidence(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = remedy.into();
        self
    }
}

/// Sorts findings as reports show them: by severity, then in the order of
/// [`super::RULES`], which lists root causes before symptoms (a disconnect spike).
pub fn sort(findings: &mut [Finding]) {
    let rank = |id: &str| {
        super::RULES
            .iter()
            .position(|(r, _)| *r == id)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(rank(a.id).cmp(&rank(b.id)))
            .then(a.id.cmp(b.id))
    });
}
