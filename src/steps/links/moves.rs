//! PURE: the links a run that moves chunks between the plan's data nodes
//! (`tsmn rebalance`) sets up itself before its moves, and proves.
//!
//! The set-up is apply's own (one source of truth): the files at the
//! access node's paths on each destination (`files`), and tsmn's
//! pg_hba.conf block with the links' rules on each source (the auth
//! builder's `hba_rules`), ordered make before break as apply orders them.
//! Then, after the restart gate and before the first move, each
//! destination logs in to its source from inside its server with the
//! connection options the engine's subscription gets (the same options
//! check's probe uses, probe/peers.rs): a move over a link that fails
//! would wait up to an hour for its sync, so a failed proof stops the run
//! before any move starts.

use super::{files, Ctx};
use crate::quote::sql::dollar;
use crate::steps::{step, Action, Phase, Statement, Step, StepState, StepsError};

/// How long a proof waits for the source to answer (libpq's
/// connect_timeout in the proof's connection string).
const PROOF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The steps that set up and prove the links of `pairs` (destination,
/// source): files on the destinations, the rules on the sources, and one
/// proof per pair. Nothing when the links are not wanted (the caller asks
/// the gate first).
pub(crate) fn for_moves(ctx: &Ctx, pairs: &[(String, String)]) -> Result<Vec<Step>, StepsError> {
    if !super::wanted(ctx) {
        return Ok(Vec::new());
    }
    let is_destination = |n: &str| pairs.iter().any(|(d, _)| d == n);
    let is_source = |n: &str| pairs.iter().any(|(_, s)| s == n);
    let mut steps: Vec<Step> = files(ctx)
        .into_iter()
        .filter(|s| is_destination(&s.node))
        .collect();
    let mut rules = Vec::new();
    crate::steps::auth::hba_rules(ctx, &mut rules)?;
    let an_cidrs = ctx.access_node_cidrs();
    let (kind, method) = crate::steps::auth::kind_method(ctx.plan.auth.mode);
    for mut s in rules.into_iter().filter(|s| {
        is_source(&s.node)
            && matches!(s.action, Action::HbaBlock { .. })
            && s.node != ctx.plan.access_node.name
    }) {
        let links = super::hba_lines(ctx, &s.node, kind, method, &an_cidrs);
        s.title = "pg_hba.conf: admit the other data nodes (the engine's chunk copy)".into();
        s.reason = if links.is_empty() {
            "tsmn's block as apply writes it; the access node's rules already admit the other data nodes' addresses".into()
        } else {
            format!(
                "tsmn's block as apply writes it, with the rules that admit the data nodes that copy from it: {}",
                links.join("; ")
            )
        };
        steps.push(s);
    }
    crate::steps::make_before_break(ctx.plan, &mut steps);
    crate::steps::block_nodes_with_broken_hba(ctx, &mut steps);
    crate::steps::block_unwritable_files(ctx, &mut steps);
    let mut seen: Vec<&(String, String)> = Vec::new();
    for pair in pairs {
        if !seen.contains(&pair) {
            seen.push(pair);
            steps.push(proof(ctx, &pair.0, &pair.1));
        }
    }
    Ok(steps)
}

/// From inside `destination` (dblink's function in a session of tsmn's in
/// the cluster database, as the probe does), one login to `source` with
/// the access node's options as the destination's libpq finds them; an
/// error names both nodes and libpq's reason.
fn proof(ctx: &Ctx, destination: &str, source: &str) -> Step {
    let plan = ctx.plan;
    let info = connection_options(ctx, destination, source);
    let body = format!(
        "
DECLARE
  why text;
BEGIN
  PERFORM * FROM pg_temp.tsmn_dblink({info}, 'SELECT 1') AS t(x int);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS why = PG_EXCEPTION_DETAIL;
  RAISE EXCEPTION '{dest} cannot log in to {src} as the engine''s chunk copy does: %', coalesce(nullif(trim(why), ''), SQLERRM)
    USING HINT = 'no move started: a copy over this link would wait up to an hour; tsmn check --plan <plan> reports it (data_node_link_fails) with its cause';
END
",
        info = crate::quote::sql::literal(info.as_deref().unwrap_or_default()),
        dest = destination.replace('\'', "''"),
        src = source.replace('\'', "''"),
    );
    let mut s = step(
        destination,
        Phase::Cluster,
        &format!("link-from-{source}"),
        format!("{destination} logs in to {source} as the engine's chunk copy does"),
        "the destination of a move subscribes to its source with the access node's connection options; a copy over a link that fails waits up to an hour, so no move starts before every link of the moves is proven",
        Action::Sql {
            database: plan.database.clone(),
            statements: vec![
                Statement::plain(crate::timescale::DBLINK_FUNCTION),
                Statement::plain(format!("DO {}", dollar("tsmn_link", &body))),
            ],
        },
    );
    if let Err(why) = info {
        s.state = StepState::Blocked { why };
    }
    s
}

/// The options the engine gives `destination` for `source`, as its libpq
/// finds the access node's paths (`ServerFacts::as_seen_from`).
fn connection_options(ctx: &Ctx, destination: &str, source: &str) -> Result<String, String> {
    let an_name = &ctx.plan.access_node.name;
    let an = ctx
        .server(an_name)
        .filter(|s| s.setting("data_directory").is_some())
        .ok_or_else(|| format!("the link from {destination} to {source} cannot be proven: {an_name}'s settings are unknown (it did not answer the probe); run tsmn check --plan <plan> to see why"))?;
    let dir = ctx
        .server(destination)
        .and_then(|s| s.setting("data_directory"))
        .ok_or_else(|| format!("the link from {destination} to {source} cannot be proven: {destination}'s data directory is unknown (it did not answer the probe, or tsmn is not a superuser there)"))?;
    let to = ctx
        .data_nodes()
        .find(|d| d.name == source)
        .ok_or_else(|| format!("{source} holds chunks to move but is not in the plan: add it to [[data_nodes]] as the access node reaches it"))?;
    Ok(an.as_seen_from(dir).engine_conninfo(
        &ctx.plan.superuser,
        &ctx.plan.database,
        (&to.host, to.port),
        PROOF_TIMEOUT,
    ))
}

#[cfg(test)]
mod tests {
    use crate::facts::*;
    use crate::plan::parse_plan;
    use crate::steps::rebalance::{build, Wanted};
    use crate::steps::{Action, Inputs, Order, Phase, StepState};

    fn facts() -> Facts {
        let node = |name: &str, role, dir: &str| NodeFacts {
            name: name.into(),
            role,
            address: "x".into(),
            connection: Connection::Connected { tls: false },
            server: Some(ServerFacts {
                superuser: true,
                ..ServerFacts::with_settings(&[("data_directory", dir)])
            }),
            access_probes: AccessProbes::NotApplicable,
            cluster_reach: Vec::new(),
        };
        Facts {
            nodes: vec![
                node("an", NodeRole::Access, "/srv/an"),
                node("dn1", NodeRole::Data, "/dn1"),
                node("dn2", NodeRole::Data, "/dn2"),
                node("dn3", NodeRole::Data, "/dn3"),
            ],
        }
    }

    fn plan(extra: &str) -> crate::plan::Plan {
        let mut text = "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n".to_string();
        for k in 1..=3 {
            text.push_str(&format!(
                "[[data_nodes]]\nname = \"dn{k}\"\nhost = \"10.0.0.1{k}\"\n"
            ));
        }
        parse_plan(&format!("{text}[auth]\nmode = \"password\"\n{extra}"), "p").unwrap()
    }

    fn moves() -> Vec<Wanted> {
        ["dn1", "dn2", "dn1"]
            .iter()
            .enumerate()
            .map(|(i, from)| Wanted {
                hypertable: "public.metrics".into(),
                chunk: format!("_timescaledb_internal._dist_hyper_1_{i}_chunk"),
                from: (*from).into(),
                to: "dn3".into(),
                bytes: 8192,
            })
            .collect()
    }

    #[test]
    fn a_rebalance_sets_up_the_links_of_its_moves_as_apply_does_and_proves_each_first() {
        let f = facts();
        let p = plan("");
        let inputs = Inputs {
            facts: Some(&f),
            ..Default::default()
        };
        let steps = build(&p, inputs, &moves(), 1);
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        // The destination gets the passfile at the access node's path; the
        // sources get tsmn's block with a rule for dn3 (and not for themselves).
        let file = steps
            .iter()
            .find(|s| s.id == "dn3/auth/link-passfile")
            .expect("passfile");
        assert!(
            matches!(&file.action, Action::File { path, .. } if path.resolve(None) == "/srv/an/passfile")
        );
        assert!(!ids.contains(&"dn1/auth/link-passfile"), "{ids:?}");
        for src in ["dn1", "dn2"] {
            let s = steps
                .iter()
                .find(|s| s.id == format!("{src}/auth/hba"))
                .expect("hba");
            let Action::HbaBlock { lines } = &s.action else {
                panic!()
            };
            assert!(
                lines.contains(&"host tsdb postgres 10.0.0.13/32 scram-sha-256".to_string()),
                "{lines:?}"
            );
            assert!(
                lines.iter().any(|l| l.starts_with("host all ")),
                "the access node's rules stay: {lines:?}"
            );
            assert_eq!(s.order, Order::Last, "make before break, as apply");
        }
        assert!(!ids.contains(&"dn3/auth/hba"), "{ids:?}");
        // One proof per link, after the gate and before every move.
        let proofs: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].id.contains("/cluster/link-from-"))
            .collect();
        assert_eq!(proofs.len(), 2, "{ids:?}");
        let first_move = ids
            .iter()
            .position(|i| i.contains("/cluster/move-"))
            .unwrap();
        assert!(proofs
            .iter()
            .all(|&i| i < first_move && steps[i].phase == Phase::Cluster));
        let Action::Sql {
            statements,
            database,
        } = &steps[proofs[0]].action
        else {
            panic!()
        };
        assert_eq!(database, "tsdb");
        let sql = statements[1].sql.masked();
        assert!(
            sql.contains("passfile=''/srv/an/passfile''") && sql.contains("host=''10.0.0.11''"),
            "{sql}"
        );
        assert!(steps
            .iter()
            .all(|s| !matches!(s.state, StepState::Blocked { .. })));
        // The link steps need the superuser's password (the passfile line).
        assert!(crate::steps::secret_roles(&steps).contains("postgres"));

        // Turned off: no link step, every move refused by the gate.
        let off = plan("data_node_links = false\n");
        let steps = build(&off, inputs, &moves(), 1);
        assert!(!steps.iter().any(|s| s.id.contains("link")));
        assert!(steps.iter().filter(|s| matches!(s.action, Action::MoveChunk(_))).all(
            |s| matches!(&s.state, StepState::Blocked { why } if why.contains("data_node_links = false"))
        ));
    }
}
