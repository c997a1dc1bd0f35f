//! ASYNC: a `Watcher` keeps one session per node (and one more to the
//! access node for the links, see links.rs) open between refreshes and
//! takes snapshots over them. Each node's row and the access node's links
//! are parts that run as their own tasks (part.rs), each bounded on its
//! own. A single snapshot waits for every part; a watch's refresh after
//! the first waits until its deadline and shows a part still running as
//! waiting, with its last answer: a node that hangs delays only its own
//! row, and its links are left untested until it answers again (a
//! connect to it would hang the links' one statement).

use super::links::AccessLinks;
use super::node::{node_status, AccessCatalog, Session};
use super::part::{Answer, Part};
pub(super) use super::reach::Reach;
use super::{LinkStatus, NodeState, NodeStatus, Snapshot};
use crate::facts::NodeRole;
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::ProbeOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One node's answer: its row, the access node's catalog, and (on demand)
/// a data node's links to the other data nodes.
#[derive(Clone)]
struct NodeAnswer {
    status: NodeStatus,
    catalog: Option<AccessCatalog>,
    peer_links: Vec<LinkStatus>,
}

struct NodeWork {
    node: Node,
    role: NodeRole,
    part: Part<Option<Session>, NodeAnswer>,
    /// Its last answer, shown while it is waited for.
    last: Option<NodeAnswer>,
}

pub struct Watcher {
    reach: Arc<Reach>,
    nodes: Vec<NodeWork>,
    links: Part<AccessLinks, Vec<LinkStatus>>,
    last_links: Vec<LinkStatus>,
    /// Data nodes that hung at the last snapshot: their links are not
    /// tested until they answer again.
    hung: Vec<(String, String)>,
    /// Test the links between data nodes at the next snapshot.
    peer_links_next: bool,
    /// ... and at every snapshot (`--links all`).
    peer_links_always: bool,
    /// The last test of the links between data nodes, shown with its age
    /// until the next one.
    last_peers: Option<(Instant, Vec<LinkStatus>)>,
    /// A watch's refresh waits this long for its parts (None: every part).
    refresh_wait: Option<Duration>,
    snapshots: u64,
    notes: Vec<String>,
    origin: Instant,
}

impl Watcher {
    /// A watcher over the plan's nodes; nothing connects yet. Err: the
    /// plan's TLS files cannot be used (the message says which).
    pub fn new(plan: Plan, connect_timeout: Duration) -> Result<Watcher, String> {
        let tls = Tls::from_plan(&plan)?;
        let mut passwords = PasswordSource::from_plan(&plan);
        let notes = std::mem::take(&mut passwords.notes);
        let nodes = plan
            .nodes()
            .enumerate()
            .map(|(i, node)| NodeWork {
                node: node.clone(),
                role: if i == 0 {
                    NodeRole::Access
                } else {
                    NodeRole::Data
                },
                part: Part::new(None),
                last: None,
            })
            .collect();
        Ok(Watcher {
            reach: Arc::new(Reach {
                plan,
                passwords,
                tls,
                opts: ProbeOptions::with_connect_timeout(connect_timeout),
            }),
            nodes,
            links: Part::new(AccessLinks::default()),
            last_links: Vec::new(),
            hung: Vec::new(),
            peer_links_next: false,
            peer_links_always: false,
            last_peers: None,
            refresh_wait: None,
            snapshots: 0,
            notes,
            origin: Instant::now(),
        })
    }

    /// The superuser's password as the operator typed it (the wizard):
    /// used where the plan's own sources give none. Before the first
    /// snapshot (the parts share what they connect with from then on).
    pub fn with_password(mut self, password: secrecy::SecretString) -> Watcher {
        if let Some(reach) = Arc::get_mut(&mut self.reach) {
            reach.passwords.set_prompted(password);
        }
        self
    }

    /// A watch: every refresh after the first waits at most `wait` for
    /// the nodes and links, and shows those still running as waiting.
    pub fn watching(mut self, wait: Duration) -> Watcher {
        self.refresh_wait = Some(wait);
        // The links' statement answers within the refresh's wait: a link
        // that does not answer in 70% of it is reported down (its data
        // node hangs, or is slower than a watch can show).
        let answer = wait.mul_f64(0.7).min(self.reach.opts.connect_timeout);
        if let Some(l) = self.links.state_mut() {
            l.answer_wait = Some(answer);
        }
        self
    }

    /// Test each data node's link to each other data node at every
    /// snapshot (`--links all`): N x (N - 1) connections made and closed
    /// each time, so not the default.
    pub fn peer_links_always(&mut self, on: bool) {
        self.peer_links_always = on;
    }

    /// Test the links between data nodes at the next snapshot only (the
    /// watch's `l` key).
    pub fn peer_links_once(&mut self) {
        self.peer_links_next = true;
    }

    /// Notes on where passwords come from (an unset variable, say).
    pub fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// One snapshot: every node and the links at once.
    pub async fn snapshot(&mut self) -> Snapshot {
        let started = Instant::now();
        let taken_at = self.origin.elapsed().as_secs_f64();
        let peers = std::mem::take(&mut self.peer_links_next) || self.peer_links_always;
        // The first snapshot, and one that tests the links between data
        // nodes (asked for), wait for every answer.
        let deadline = match self.refresh_wait {
            Some(w) if self.snapshots > 0 && !peers => Some(started + w),
            _ => None,
        };
        self.snapshots += 1;
        let an_once = super::links::AnSettings::default();
        for w in &mut self.nodes {
            let (reach, node, role) = (self.reach.clone(), w.node.clone(), w.role);
            let an_once = an_once.clone();
            w.part.start(move |mut slot| async move {
                let (status, catalog) = node_status(&reach, &mut slot, &node, role).await;
                let peer_links = match &slot {
                    Some(s) if peers && role == NodeRole::Data && !s.in_postgres => {
                        super::links::between_data_nodes(&s.client, &node, &reach, &an_once).await
                    }
                    _ => Vec::new(),
                };
                let answer = NodeAnswer {
                    status,
                    catalog,
                    peer_links,
                };
                (slot, answer)
            });
        }
        let (reach, skip) = (self.reach.clone(), self.hung.clone());
        self.links.start(move |mut links| async move {
            let r = links.refresh(&reach, &skip).await;
            (links, r)
        });
        let rows = futures_util::future::join_all(self.nodes.iter_mut().map(|w| {
            let fallback = lost(&w.node, w.role);
            w.part.answer(deadline, move || fallback)
        }));
        let (rows, links) =
            futures_util::future::join(rows, self.links.answer(deadline, Vec::new)).await;
        let mut snapshot = Snapshot {
            database: self.reach.plan.database.clone(),
            taken_at,
            ..Snapshot::default()
        };
        snapshot.links = match links {
            Answer::Ready(l) => {
                self.last_links = l.clone();
                l
            }
            Answer::Waiting(d) => still_testing(&self.last_links, d),
        };
        let mut peers_now = Vec::new();
        for (w, row) in self.nodes.iter_mut().zip(rows) {
            let answer = match row {
                Answer::Ready(a) => {
                    w.last = Some(a.clone());
                    a
                }
                Answer::Waiting(d) => waiting(w, d, self.reach.budget()),
            };
            if let Some(c) = answer.catalog {
                snapshot.hypertables = c.hypertables.unwrap_or_default();
                snapshot.remote_txn_backlog = c.remote_txn_backlog;
                snapshot.failed_jobs = c.failed_jobs;
            }
            peers_now.extend(answer.peer_links);
            snapshot.nodes.push(answer.status);
        }
        self.peers(peers, peers_now, &mut snapshot.links);
        self.hung = hung(&snapshot);
        snapshot.took_ms = started.elapsed().as_secs_f64() * 1000.0;
        snapshot
    }
    /// The links between data nodes: this snapshot's test, or the last
    /// one's results with their age.
    fn peers(&mut self, tested: bool, now: Vec<LinkStatus>, links: &mut Vec<LinkStatus>) {
        if tested {
            self.last_peers = Some((Instant::now(), now.clone()));
            links.extend(now);
        } else if let Some((at, last)) = &self.last_peers {
            let ago = at.elapsed().as_secs_f64();
            links.extend(last.iter().map(|l| LinkStatus {
                tested_seconds_ago: Some(ago),
                ..l.clone()
            }));
        }
    }
}

/// A node that hangs: it was waited for, or a connect or a statement ran
/// out of time (a server that is down refuses at once).
fn hangs(n: &NodeStatus) -> bool {
    n.state == NodeState::Waiting
        || n.error.as_deref().is_some_and(|e| {
            e.starts_with("no answer")
                || crate::findings::connect::explain(n.sqlstate.as_deref(), e).code == "timeout"
        })
}

/// A node still asked at the deadline: its last answer. One that was up
/// is marked waiting; one that was down or refused stays so (a node that
/// hangs answers nothing new until its own bound ends).
fn waiting(w: &NodeWork, for_: Duration, budget: Duration) -> NodeAnswer {
    let mut a = w.last.clone().unwrap_or_else(|| lost(&w.node, w.role));
    a.peer_links.clear();
    if a.status.state != NodeState::Up {
        return a;
    }
    a.status.up = false;
    a.status.state = NodeState::Waiting;
    a.status.sqlstate = None;
    a.status.error = Some(format!(
        "no answer yet: asked {:.1} s ago (it is given {} s); the values shown are its last answer's",
        for_.as_secs_f64(),
        budget.as_secs()
    ));
    a
}

/// The row of a node whose task ended without an answer (it panicked).
fn lost(node: &Node, role: NodeRole) -> NodeAnswer {
    NodeAnswer {
        status: NodeStatus {
            name: node.name.clone(),
            role,
            address: node.connect_address(),
            up: false,
            state: NodeState::Down,
            error: Some(
                "tsmn lost its task for this node (it asks again at the next refresh)".into(),
            ),
            sqlstate: None,
            server: None,
        },
        catalog: None,
        peer_links: Vec::new(),
    }
}

/// The links' statement still runs (a data node that started to hang
/// holds it until its wait ends): the last results, marked untested.
fn still_testing(last: &[LinkStatus], d: Duration) -> Vec<LinkStatus> {
    last.iter()
        .map(|l| LinkStatus {
            up: None,
            rtt_ms: None,
            error: Some(format!(
                "still being tested ({:.1} s): a data node that does not answer holds the test until its wait ends",
                d.as_secs_f64()
            )),
            ..l.clone()
        })
        .collect()
}

/// Data nodes whose links the next snapshot leaves untested, with why: the
/// node hangs (its row), or its link got no answer in time.
fn hung(snapshot: &Snapshot) -> Vec<(String, String)> {
    let access = snapshot
        .nodes
        .iter()
        .find(|n| n.role == NodeRole::Access)
        .map_or("", |n| n.name.as_str());
    // The access node's links of this snapshot (not a data node's, nor an
    // earlier test shown with its age).
    let link_hangs = |name: &str| {
        snapshot.links.iter().any(|l| {
            l.from == access
                && l.tested_seconds_ago.is_none()
                && l.to == name
                && l.up == Some(false)
                && l.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("timeout expired"))
        })
    };
    snapshot
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Data && (hangs(n) || link_hangs(&n.name)))
        .map(|n| {
            let why = if hangs(n) {
                format!("{} does not answer tsmn either (its row)", n.name)
            } else {
                "its last test got no answer in time; tested again at the next refresh".into()
            };
            (n.name.clone(), why)
        })
        .collect()
}
