//! The wizard's screens: the one list of them (each screen's module, its
//! `Screen`, its title and how its state starts), the setup path's order
//! (the header's breadcrumbs) and where Esc goes.

/// The one list of the wizard's screens. Each line: the screen's module
/// (one file in tui/screens/, holding its `State`), its `Screen`, its title,
/// and how its state starts from the plan. Adding a screen is a new file
/// and a line here (and, for a step of the setup path, a place in
/// `Screen::ORDER`). `Screen` is made here, `Pages` in screens/mod.rs.
macro_rules! with_screens {
    ($then:ident) => {
        $then! {
            start: Start "Start" => |_| start::State::default(),
            nodes: Nodes "Nodes" => |_| nodes::State::default(),
            credentials: Credentials "Credentials" => credentials::State::new,
            connectivity: Connectivity "Connectivity" => |_| connectivity::State::default(),
            authentication: Authentication "Authentication" => authentication::State::new,
            preview: Preview "Preview" => |_| preview::State::default(),
            execute: Execute "Execute" => |_| execute::State::default(),
            summary: Summary "Summary" => |_| summary::State,
            // Beside the setup path: the live cluster, and leaving multi-node.
            cluster: Cluster "Cluster" => |_| cluster::State::default(),
            migrate: Migrate "Migrate" => |_| migrate::State::default(),
        }
    };
}
pub(crate) use with_screens;

/// `Screen` and its titles, from the list.
macro_rules! screen_enum {
    ($( $module:ident : $variant:ident $title:literal => $init:expr ),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Screen {
            $( $variant, )*
        }

        impl Screen {
            pub fn title(self) -> &'static str {
                match self {
                    $( Screen::$variant => $title, )*
                }
            }
        }
    };
}

with_screens!(screen_enum);

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
