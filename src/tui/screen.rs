//! The setup path's screens in their order (`Screen` itself is made by
//! the list in screens/mod.rs): what the header's breadcrumbs show and
//! where Esc goes.

pub use super::screens::Screen;

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
    /// Where Esc goes: the screen before in the order (the first stays;
    /// the summary goes back to the preview, not into a finished run; a
    /// screen beside the path goes back to the start).
    pub fn back(self) -> Screen {
        match self {
            Screen::Execute | Screen::Summary => Screen::Preview,
            s => {
                let i = Screen::ORDER.iter().position(|o| *o == s).unwrap_or(0);
                Screen::ORDER[i.saturating_sub(1)]
            }
        }
    }
}
