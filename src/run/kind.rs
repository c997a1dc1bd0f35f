//! What a run does, as the faces and the journal name it.

/// What a run does: set the plan up, take the last setup back, or move
/// chunks to even out the data nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Apply,
    Undo,
    Rebalance,
}

impl RunKind {
    /// The command an operator types for it, as messages name it.
    pub fn command(self) -> &'static str {
        match self {
            RunKind::Apply => "tsmn apply",
            RunKind::Undo => "tsmn undo",
            RunKind::Rebalance => "tsmn rebalance",
        }
    }

    /// The command's name alone (`apply`), as the interrupt notes name it.
    pub fn name(self) -> &'static str {
        self.command().trim_start_matches("tsmn ")
    }
}
