//! What a run does, as the faces and the journal name it.

/// What a run does: set the plan up, or take the last setup back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Apply,
    Undo,
}

impl RunKind {
    /// The command an operator types for it, as messages name it.
    pub fn command(self) -> &'static str {
        match self {
            RunKind::Apply => "tsmn apply",
            RunKind::Undo => "tsmn undo",
        }
    }
}
