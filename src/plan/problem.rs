//! A problem with a plan: where it is, what is wrong, and how to fix it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the field in the plan, e.g. `data_nodes[1].port`.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl Problem {
    pub fn new(
        path: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            path: path.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n    fix: {}", self.path, self.problem, self.fix)
    }
}

/// Why a plan could not be used. Every variant says where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the plan {path}: {source}\n    fix: check the path, or write one with `tsmn init --mode MODE --out FILE` (or `tsmn sandbox up`)")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}, column {column}: {message}\n    fix: {fix}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
        fix: String,
    },
    #[error("{} problem(s) in {path}:\n{}", problems.len(), list(problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
