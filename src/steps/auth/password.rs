//! Password mode: the pg_hba.conf rules and the access node's passfile
//! (where it is, and its lines).

use super::hba::hba_rules;
use super::kept;
use crate::quote::pgpass;
use crate::steps::{
    step, Action, Ctx, Part, Phase, ServerPath, Step, StepState, StepsError, Template,
};

pub(super) fn password(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    let plan = ctx.plan;
    hba_rules(ctx, out)?;
    let an = &plan.access_node.name;
    let (path, text) = passfile(ctx, &[]);
    let mut s = step(
        an,
        Phase::Auth,
        "passfile",
        "Passfile on the access node",
        "TimescaleDB reads the data nodes' passwords from this file (timescaledb.passfile, else <PGDATA>/passfile); libpq ignores it unless it is 0600 and owned by the server's OS user",
        Action::File { path, mode: 0o600, content: crate::steps::Content::Text { text } },
    );
    // An adopted passfile that serves every role on every data node is the
    // operator's own (its lines may be `*:*:*:role:...`): kept, and no
    // password is needed to write it again.
    if ctx.adopted_reach_all() {
        kept(&mut s, "the access node's passfile serves every role on every data node (proved from the access node); kept as it is".into());
    } else if let Some(why) = operators_passfile_in_the_way(ctx) {
        // Never worse: tsmn's layout has one password per role, and the
        // operator's file may hold others that work; writing it would cut
        // those links. Nothing of the phase runs, and no password is needed.
        kept(&mut s, String::new());
        s.state = StepState::Blocked { why };
    }
    out.push(s);
    Ok(())
}

/// On an adopted cluster whose access node has a passfile of its own that
/// does not serve every link: which links it does not serve, and the way
/// to mend that by hand.
fn operators_passfile_in_the_way(ctx: &Ctx) -> Option<String> {
    let plan = ctx.plan;
    let an = ctx.server(&plan.access_node.name)?;
    if !plan.adopted || an.passfile.is_none() {
        return None;
    }
    let missing: Vec<String> = ctx
        .data_nodes()
        .flat_map(|dn| {
            plan.auth
                .roles
                .iter()
                .filter(|role| !ctx.adopted_reach(role, &dn.name))
                .map(|role| {
                    format!(
                        "{role} on {} ({}:{}:*:{role}:PASSWORD)",
                        dn.name, dn.host, dn.port
                    )
                })
        })
        .collect();
    let path = an
        .timescaledb_passfile()
        .unwrap_or_else(|| "the passfile".into());
    Some(format!(
        "the access node's passfile {path} is the cluster's own and serves the other links (proved from the access node); tsmn would write it again in its own layout, one password per role, and cut those. Not served: {}. Fix: put those lines at the top of {path} by hand, each with the password the role has on that data node; or set adopted = false in the plan to let tsmn manage the passfile and set every role's password on every data node",
        missing.join("; ")
    ))
}

/// Where the access node's passfile is: timescaledb.passfile as the plan
/// gives it, else `<PGDATA>/passfile`.
pub(in crate::steps) fn passfile_path(plan: &crate::plan::Plan) -> ServerPath {
    let opts = plan.auth.password.clone().unwrap_or_default();
    if opts.passfile.is_empty() {
        ServerPath::DataDir("passfile".into())
    } else {
        ServerPath::Absolute(opts.passfile)
    }
}

/// The access node's passfile: where, and its text (a line per data node
/// and role). A data node still in the cluster but no longer in the plan
/// keeps its lines until it is removed (without them every query that
/// touches it would fail with "no password supplied"), unless it is among
/// `removed`.
pub(in crate::steps) fn passfile(ctx: &Ctx, removed: &[String]) -> (ServerPath, Template) {
    let plan = ctx.plan;
    let path = passfile_path(plan);
    let mut text =
        Template::lit("# written by tsmn: the access node's passwords for the data nodes\n");
    let mut line = |host: &str, port: i64| {
        for role in &plan.auth.roles {
            text.push_str(&format!(
                "{}:{port}:*:{}:",
                pgpass::escape(host),
                pgpass::escape(role)
            ));
            text.push(Part::PgpassPassword(role.clone()));
            text.push_str("\n");
        }
    };
    for dn in ctx.data_nodes() {
        line(&dn.host, dn.port);
    }
    let leaving: Vec<&crate::facts::Member> = ctx
        .an_database()
        .map(|d| {
            d.members
                .iter()
                .filter(|m| !ctx.data_nodes().any(|dn| dn.name == m.name))
                .filter(|m| !removed.contains(&m.name))
                .collect()
        })
        .unwrap_or_default();
    for m in leaving {
        line(&m.host, m.port);
    }
    (path, text)
}

#[cfg(test)]
mod tests {
    use crate::facts::*;
    use crate::plan::{parse_plan, AuthMode, Plan};
    use crate::steps::{build, secret_roles, Inputs, StepState};

    fn plan(adopted: bool) -> Plan {
        let mut p = parse_plan(
            "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n[[data_nodes]]\nname = \"dn2\"\nhost = \"10.0.0.12\"\n[auth]\nmode = \"password\"\nroles = [\"postgres\", \"ops\"]\n",
            "p",
        )
        .unwrap();
        p.adopted = adopted;
        assert_eq!(p.auth.mode, AuthMode::Password);
        p
    }

    /// The access node reached these (role, data node) pairs, and no others.
    fn reached(pairs: &[(&str, &str)]) -> Facts {
        let node = |name: &str, role| NodeFacts {
            name: name.into(),
            role,
            address: "x".into(),
            connection: Connection::Connected { tls: false },
            server: Some(ServerFacts::default()),
            access_probes: AccessProbes::NotApplicable,
            cluster_reach: Vec::new(),
        };
        let mut an = node("an", NodeRole::Access);
        for role in ["postgres", "ops"] {
            for dn in ["dn1", "dn2"] {
                an.cluster_reach.push(Reach {
                    role: role.into(),
                    data_node: dn.into(),
                    error: (!pairs.contains(&(role, dn)))
                        .then(|| "fe_sendauth: no password supplied".into()),
                });
            }
        }
        Facts {
            nodes: vec![an, node("dn1", NodeRole::Data), node("dn2", NodeRole::Data)],
        }
    }

    fn state(p: &Plan, f: &Facts, node: &str, id: &str) -> StepState {
        let steps = build(
            p,
            Inputs {
                facts: Some(f),
                ..Default::default()
            },
        )
        .unwrap();
        steps
            .into_iter()
            .find(|s| s.node == node && s.id.ends_with(id))
            .unwrap_or_else(|| panic!("no step {id} on {node}"))
            .state
    }

    #[test]
    fn an_adopted_passfile_proved_to_work_is_kept_and_needs_no_password() {
        let all = reached(&[
            ("postgres", "dn1"),
            ("postgres", "dn2"),
            ("ops", "dn1"),
            ("ops", "dn2"),
        ]);
        let p = plan(true);
        assert!(
            matches!(state(&p, &all, "an", "passfile"), StepState::Done { why } if why.contains("proved from the access node"))
        );
        assert!(matches!(
            state(&p, &all, "dn1", "password"),
            StepState::Done { .. }
        ));
        let steps = build(
            &p,
            Inputs {
                facts: Some(&all),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(matches!(
            state(&p, &all, "dn2", "role-ops"),
            StepState::Done { .. }
        ));
        assert!(secret_roles(&steps).is_empty(), "no password is needed");

        // One pair fails: the passfile is written again, with every password.
        let one_fails = reached(&[("postgres", "dn1"), ("postgres", "dn2"), ("ops", "dn1")]);
        assert_eq!(state(&p, &one_fails, "an", "passfile"), StepState::Todo);
        assert!(matches!(
            state(&p, &one_fails, "dn2", "password"),
            StepState::Done { .. }
        ));

        // A plan tsmn builds from scratch proves nothing by reaching.
        let fresh = plan(false);
        assert_eq!(state(&fresh, &all, "an", "passfile"), StepState::Todo);
        let steps = build(
            &fresh,
            Inputs {
                facts: Some(&all),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            secret_roles(&steps),
            ["ops".to_string(), "postgres".to_string()].into()
        );
    }
}
