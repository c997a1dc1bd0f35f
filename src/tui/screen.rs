//! The wizard's screens in their order: what the header's breadcrumbs show
//! and where Esc goes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Start,
    Nodes,
    Credentials,
    Connectivity,
    Authentication,
    Preview,
    Execute,
    Summary,
    /// The running cluster, live: beside the setup path, not on it.
    Cluster,
    /// Moving the cluster off multi-node: beside the setup path too.
    Migrate,
}

impl Screen {
    pub const ORDER: [Screen; 8] = [
        Screen::Start,
        Screen::Nodes,
        Screen::Credentials,
        Screen::Connectivity,
        Screen::Authentication,
        Screen::Preview,
        Screen::Execute,
        Screen::Summary,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Screen::Start => "Start",
            Screen::Nodes => "Nodes",
            Screen::Credentials => "Credentials",
            Screen::Connectivity => "Connectivity",
            Screen::Authentication => "Authentication",
            Screen::Preview => "Preview",
            Screen::Execute => "Execute",
            Screen::Summary => "Summary",
            Screen::Cluster => "Cluster",
            Screen::Migrate => "Migrate",
        }
    }
    /// Where Esc goes: the screen before in the order (the first stays;
    /// the summary goes back to the preview, not into a finished run).
    pub fn back(self) -> Screen {
        match self {
            Screen::Cluster | Screen::Migrate => Screen::Start,
            Screen::Execute | Screen::Summary => Screen::Preview,
            s => {
                let i = Screen::ORDER.iter().position(|o| *o == s).unwrap_or(0);
                Screen::ORDER[i.saturating_sub(1)]
            }
        }
    }
}
