//! Authentication of the access node on the data nodes, per mode (§3-§5).

use super::hba_block;
use super::settings::settled;
use super::{
    step, Action, Content, Ctx, Order, Part, Phase, ServerPath, SettingValue, Statement, Step,
    StepState, StepsError, Template,
};
use crate::plan::AuthMode;
use crate::quote::{hba, pgpass, sql};
use crate::timescale::cert_file_stem;

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    data_node_roles(ctx, out);
    match ctx.plan.auth.mode {
        AuthMode::Trust => hba_rules(ctx, out, "host", "trust")?,
        AuthMode::Password => password(ctx, out)?,
        AuthMode::Certificate => certificate(ctx, out)?,
    }
    Ok(())
}

/// The rules for the access node, on every data node.
fn hba_rules(ctx: &Ctx, out: &mut Vec<Step>, kind: &str, method: &str) -> Result<(), StepsError> {
    let roles = hba::list(&ctx.plan.auth.roles)
        .map_err(|e| StepsError::Unusable(format!("auth.roles: {e}; fix: rename the role")))?;
    let lines: Vec<String> = ctx
        .access_node_cidrs()
        .iter()
        .map(|cidr| format!("{kind} all {roles} {cidr} {method}"))
        .collect();
    let reason = match method {
        "trust" => "admits the access node's address without a password. WARNING: anyone who can connect from that address as these roles gets in; use trust only on a network you control",
        "scram-sha-256" => "admits the access node's address with a SCRAM password (host matches TLS and plain connections alike)",
        _ => "admits the access node's address only with a client certificate whose CN is the role",
    };
    for dn in ctx.data_nodes() {
        let mut s = step(
            &dn.name,
            Phase::Auth,
            "hba",
            format!("pg_hba.conf: admit the access node ({method})"),
            reason,
            Action::HbaBlock {
                lines: lines.clone(),
            },
        );
        if let Some(server) = ctx.server(&dn.name) {
            if !server.hba_lines.is_empty()
                && hba_block::holds(&(server.hba_lines.join("\n") + "\n"), &lines)
            {
                s.state = StepState::Done {
                    why: "pg_hba.conf already holds this block".into(),
                };
            }
        }
        // An adopted cluster's own rule stands when it admits the access
        // node as every role: the step is a check, with nothing to write.
        let admitting = ctx
            .inputs
            .facts
            .filter(|_| ctx.plan.adopted)
            .and_then(|f| crate::findings::admitting_rule(ctx.plan, f, &dn.name));
        if let Some(rule) = admitting {
            kept(
                &mut s,
                format!("an existing rule admits the access node as every role ({rule})"),
            );
        } else if ctx
            .plan
            .auth
            .roles
            .iter()
            .all(|role| ctx.adopted_reach(role, &dn.name))
        {
            // Rules only the data node can judge (host names, groups,
            // samenet): the engine's answer decides, and it admitted.
            kept(
                &mut s,
                format!("the access node reaches {} as every role (proved from the access node): its pg_hba.conf stands as it is", dn.name),
            );
        }
        out.push(s);
    }
    Ok(())
}

fn password(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    let plan = ctx.plan;
    hba_rules(ctx, out, "host", "scram-sha-256")?;
    let an = &plan.access_node.name;
    let (path, text) = passfile(ctx, &[]);
    let mut s = step(
        an,
        Phase::Auth,
        "passfile",
        "Passfile on the access node",
        "TimescaleDB reads the data nodes' passwords from this file (timescaledb.passfile, else <PGDATA>/passfile); libpq ignores it unless it is 0600 and owned by the server's OS user",
        Action::File { path, mode: 0o600, content: super::Content::Text { text } },
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
pub(super) fn passfile_path(plan: &crate::plan::Plan) -> ServerPath {
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
pub(super) fn passfile(ctx: &Ctx, removed: &[String]) -> (ServerPath, Template) {
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

/// Every role of the plan on every data node, directly on each (they run
/// at once): with LOGIN, and in password mode with its internal password,
/// sent as a SCRAM verifier computed by tsmn (never the plaintext). A role
/// that is already there with that password changes nothing: the
/// superuser's is checked before the statement, another role is made only
/// where it is missing.
fn data_node_roles(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    let password = plan.auth.mode == AuthMode::Password;
    for dn in ctx.data_nodes() {
        for role in &plan.auth.roles {
            let superuser = *role == plan.superuser;
            if superuser && !password {
                continue;
            }
            let l = sql::literal(role);
            let mut statements = Vec::new();
            if !superuser {
                statements.push(Statement {
                    sql: Template::lit(format!("SELECT format('CREATE ROLE %I LOGIN', {l}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {l})")),
                    generate: true,
                });
                // A role that is there without LOGIN gets it back (the
                // access node's logins as it are refused until then).
                statements.push(Statement {
                    sql: Template::lit(format!("SELECT format('ALTER ROLE %I LOGIN', {l}) WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = {l} AND NOT rolcanlogin)")),
                    generate: true,
                });
            }
            if password {
                let login = if superuser { "" } else { "LOGIN " };
                let mut t =
                    Template::lit(format!("ALTER ROLE {} {login}PASSWORD ", sql::ident(role)));
                t.push(Part::VerifierLiteral(role.clone()));
                statements.push(Statement {
                    sql: t,
                    generate: false,
                });
            }
            let (id, title, why) = if superuser {
                (
                    "password".to_string(),
                    format!("Set {role}'s password (SCRAM verifier computed by tsmn)"),
                    "the access node logs in to the data nodes with this password; tsmn sends only the SCRAM verifier, so the plaintext never reaches the server or its logs",
                )
            } else if password {
                (
                    format!("role-{role}"),
                    format!("Role {role} with LOGIN and its password (SCRAM verifier computed by tsmn)"),
                    "roles are not distributed automatically: the access node logs in here as this role, with the password in its passfile",
                )
            } else {
                (
                    format!("role-{role}"),
                    format!("Role {role} with LOGIN"),
                    "roles are not distributed automatically: the access node logs in here as this role (LOGIN is needed even if it cannot log in on the access node)",
                )
            };
            let mut s = step(
                &dn.name,
                Phase::Auth,
                &id,
                title,
                why,
                Action::Sql {
                    database: "postgres".into(),
                    statements,
                },
            );
            if password {
                s.precheck = Some(super::Precheck::PasswordIs { role: role.clone() });
                // A password already there that is not the plan's is
                // replaced: said before the run, not found out after.
                let has_one = ctx.server(&dn.name).is_some_and(|f| {
                    f.roles
                        .iter()
                        .any(|r| r.name == *role && r.exists && r.verifier.is_some())
                });
                if has_one {
                    s.reason = format!(
                        "{}. {role} already has a password on {}: when it is not the plan's, it is replaced, and clients that log in there as {role} with the old one are refused from then on",
                        s.reason,
                        dn.name
                    );
                }
                if ctx.adopted_reach(role, &dn.name) {
                    kept(&mut s, format!("the access node logs in to {} as {role} (proved from the access node): its password there stands", dn.name));
                }
            }
            out.push(s);
        }
    }
}

/// What an adopted cluster proved works stays as it is: the step checks,
/// writes nothing, and needs no secret.
pub(super) fn kept(s: &mut Step, why: String) {
    s.action = Action::Sql {
        database: "postgres".into(),
        statements: vec![],
    };
    s.precheck = None;
    s.state = StepState::Done { why };
}

fn certificate(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    let m = ctx.inputs.material;
    if m.is_none() && !ctx.plan.adopted {
        return Err(StepsError::Unusable(
            "certificate mode needs the certificate material (tsmn makes it beside the plan)"
                .into(),
        ));
    }
    // What needs a certificate from tsmn's CA and is not proved to work.
    let mut unproven = Vec::new();
    for node in ctx.plan.nodes() {
        server_tls(ctx, m, node, out, &mut unproven)?;
    }
    client_certificates(ctx, m, out, &mut unproven)?;
    if m.is_none() && !unproven.is_empty() {
        return Err(StepsError::Unusable(format!(
            "certificate mode: tsmn has no copy of the CA that issued this cluster's certificates, and these are not proved to work from the access node: {}\n    fix: set ca_cert and ca_key in [auth.certificate] to that CA's certificate and key (tsmn then issues only what is missing), and run tsmn check to see why they fail",
            unproven.join(", ")
        )));
    }
    hba_rules(ctx, out, "hostssl", "cert")
}

/// An adopted cluster's TLS on `node` works: the access node reaches the
/// data node as some role, over TLS with that role's client certificate
/// (the data node's certificate, key and CA, and the access node's CA, all
/// in use); for the access node, it reaches every data node so. A role
/// that does not reach yet needs only its own client certificate.
fn tls_proven(ctx: &Ctx, node: &crate::plan::Node) -> bool {
    if ctx.inputs.renewing {
        return false;
    }
    let reached = |dn: &str| ctx.plan.auth.roles.iter().any(|r| ctx.adopted_reach(r, dn));
    if node.name == ctx.plan.access_node.name {
        ctx.data_nodes().all(|dn| reached(&dn.name))
    } else {
        reached(&node.name)
    }
}

/// A node's CA, server certificate and key in its data directory, and TLS
/// turned on with them. On an adopted cluster whose TLS is proved to
/// work, the node's own files and settings are kept.
fn server_tls(
    ctx: &Ctx,
    m: Option<&super::material::Material>,
    node: &crate::plan::Node,
    out: &mut Vec<Step>,
    unproven: &mut Vec<String>,
) -> Result<(), StepsError> {
    let proven = tls_proven(ctx, node);
    let found = m.map(|m| (m, m.servers.get(&node.name)));
    let Some(cert) = issued(
        found,
        proven,
        &format!("server certificate for {}", node.name),
    )
    .map_err(StepsError::Unusable)?
    else {
        unproven.push(format!("{}'s TLS", node.name));
        return Ok(());
    };
    let ca_cert = m.map(trusted).unwrap_or_default();
    let files = [
        (
            "root.crt",
            0o644,
            Content::Text {
                text: Template::lit(ca_cert),
            },
            "the CA that signed every certificate; ssl_ca_file",
        ),
        (
            "server.crt",
            0o644,
            Content::Text {
                text: Template::lit(cert),
            },
            "this node's server certificate, with its addresses in subjectAltName",
        ),
        (
            "server.key",
            0o600,
            Content::PrivateKey {
                name: format!("server-{}", node.name),
            },
            "this node's server key; PostgreSQL refuses a key others can read",
        ),
    ];

    for (name, mode, content, why) in files {
        let mut s = step(
            &node.name,
            Phase::Auth,
            name,
            format!("Write {name}"),
            why,
            Action::File {
                path: ServerPath::DataDir(name.into()),
                mode,
                content,
            },
        );
        if proven {
            kept(&mut s, own_tls(&node.name));
        }
        out.push(s);
    }
    out.push(ssl_settings(ctx, node, proven));
    if !proven {
        let r = tls_reload(node, out);
        out.push(r);
    }
    Ok(())
}

/// What a node's root.crt holds: the CA, and during a roll-over the CA it
/// replaces too (so that every certificate verifies while some are old).
fn trusted(m: &super::material::Material) -> String {
    match &m.previous_ca {
        Some(old) => format!("{}{old}", m.ca_cert),
        None => m.ca_cert.clone(),
    }
}

/// A CA roll-over (`--roll-ca`), on the steps built: the access node
/// trusts both CAs (its root.crt, and a reload) before anything else of
/// the phase; the data nodes then take both CAs and their new server
/// certificates; the access node's own new certificates come after them.
/// Once the cluster is verified, every node's root.crt drops the old CA
/// (reloaded), and the cluster is verified again.
pub(super) fn roll_over(ctx: &Ctx, m: &super::material::Material, steps: &mut Vec<Step>) {
    let an = ctx.plan.access_node.name.as_str();
    let root = |node: &str| super::step_id(node, Phase::Auth, "root.crt");
    for s in steps
        .iter_mut()
        .filter(|s| s.node == an && s.phase == Phase::Auth && s.state == StepState::Todo)
    {
        s.order = if s.id == root(an) {
            Order::First
        } else {
            Order::AfterDataNodes
        };
    }
    let mut trust = step(
        an,
        Phase::Auth,
        "tls-reload-trust",
        "Reload: trust the new CA beside the old",
        "the data nodes' new certificates come from the new CA: the access node trusts it before they are in use",
        Action::ReloadTls { after: vec![root(an)] },
    );
    trust.order = Order::First;
    steps.push(trust);
    let mut nodes: Vec<&crate::plan::Node> = ctx.data_nodes().collect();
    nodes.push(&ctx.plan.access_node);
    for node in nodes {
        let mut file = step(
            &node.name,
            Phase::Verify,
            "root.crt-new-ca",
            "Write root.crt with the new CA only",
            "every certificate now comes from the new CA: the old one is trusted no more",
            Action::File {
                path: ServerPath::DataDir("root.crt".into()),
                mode: 0o644,
                content: Content::Text {
                    text: Template::lit(m.ca_cert.clone()),
                },
            },
        );
        file.order = Order::Last;
        let mut reload = step(
            &node.name,
            Phase::Verify,
            "tls-reload-new-ca",
            "Reload: the new CA only",
            "PostgreSQL reads its CA file on reload",
            Action::ReloadTls {
                after: vec![file.id.clone()],
            },
        );
        reload.order = Order::Last;
        steps.push(file);
        steps.push(reload);
    }
    for mut v in super::verify::build(ctx, ctx.functions_schema()) {
        v.id = format!("{}-new-ca-only", v.id);
        v.title = format!("{} (the new CA only)", v.title);
        v.order = Order::Last;
        steps.push(v);
    }
}

/// A reload when this run wrote one of the node's TLS files (the steps
/// just built for it), or a file is newer than the server's last reload.
fn tls_reload(node: &crate::plan::Node, out: &[Step]) -> Step {
    let after = out
        .iter()
        .filter(|s| s.node == node.name && matches!(s.action, Action::File { .. }))
        .map(|s| s.id.clone())
        .collect();
    step(
        &node.name,
        Phase::Auth,
        "tls-reload",
        "Reload when the TLS files changed",
        "PostgreSQL reads its certificate, key and CA at start and on reload only: without it a renewed certificate is not in use",
        Action::ReloadTls { after },
    )
}

/// The certificate a step writes: from the material, or none needed when
/// the cluster's own is proved to work (Ok(Some(""))); Ok(None) when there
/// is no material to issue it from; an error when the material lacks it.
fn issued(
    found: Option<(&super::material::Material, Option<&(String, String)>)>,
    proven: bool,
    what: &str,
) -> Result<Option<String>, String> {
    match found {
        Some((_, Some((cert, _)))) => Ok(Some(cert.clone())),
        _ if proven => Ok(Some(String::new())),
        Some((m, None)) => Err(format!("no {what} in {}", m.dir.display())),
        None => Ok(None),
    }
}

/// TLS turned on with tsmn's file names (kept as the node has it when proved).
fn ssl_settings(ctx: &Ctx, node: &crate::plan::Node, proven: bool) -> Step {
    let plan = ctx.plan;
    let set = |name: &str, value: &str| {
        ctx.setting_change(&node.name, name, SettingValue::Set(value.into()), false)
    };
    let changes = vec![
        set("ssl_cert_file", "server.crt"),
        set("ssl_key_file", "server.key"),
        set("ssl_ca_file", "root.crt"),
        set("ssl", "on"),
    ];
    let reason = if node.name == plan.access_node.name {
        "with ssl on, TimescaleDB offers each role's client certificate and checks the data nodes' certificates against ssl_ca_file"
    } else {
        "certificate authentication happens inside TLS, and the client certificates are checked against ssl_ca_file"
    };
    let mut s = step(
        &node.name,
        Phase::Auth,
        "ssl",
        "Turn on TLS with these files",
        reason,
        Action::Settings {
            database: "postgres".into(),
            changes: changes.clone(),
        },
    );
    s.state = settled(ctx, &node.name, &changes);
    if proven {
        kept(&mut s, own_tls(&node.name));
    }
    s
}

fn own_tls(node: &str) -> String {
    format!("{node}'s own TLS works: the access node reaches it over TLS with a role's client certificate (proved from the access node)")
}

/// The access node's md5-named client certificate and key for each role,
/// in timescaledb.ssl_dir (default <PGDATA>/timescaledb/certs). A role that
/// an adopted cluster proves reaches every data node keeps its own.
fn client_certificates(
    ctx: &Ctx,
    m: Option<&super::material::Material>,
    out: &mut Vec<Step>,
    unproven: &mut Vec<String>,
) -> Result<(), StepsError> {
    let plan = ctx.plan;
    let an = &plan.access_node.name;
    let opts = plan.auth.certificate.clone().unwrap_or_default();
    let dir = |file: String| {
        if opts.ssl_dir.is_empty() {
            ServerPath::DataDir(format!("timescaledb/certs/{file}"))
        } else {
            ServerPath::Absolute(format!("{}/{file}", opts.ssl_dir.trim_end_matches('/')))
        }
    };
    for role in &plan.auth.roles {
        let stem = cert_file_stem(role);
        let proven =
            !ctx.inputs.renewing && ctx.data_nodes().all(|dn| ctx.adopted_reach(role, &dn.name));
        let found = m.map(|m| (m, m.clients.get(role)));
        let Some(cert) = issued(
            found,
            proven,
            &format!("client certificate for role {role}"),
        )
        .map_err(StepsError::Unusable)?
        else {
            unproven.push(format!("{role}'s client certificate"));
            continue;
        };
        let mut crt = step(an, Phase::Auth, &format!("client-{stem}.crt"), format!("Client certificate for {role} ({stem}.crt)"), format!("TimescaleDB looks for md5(\"{role}\").crt when {role} connects to a data node; subject CN={role}"), Action::File { path: dir(format!("{stem}.crt")), mode: 0o644, content: Content::Text { text: Template::lit(cert) } });
        let mut key = step(
            an,
            Phase::Auth,
            &format!("client-{stem}.key"),
            format!("Client key for {role} ({stem}.key)"),
            "libpq refuses a key file others can read",
            Action::File {
                path: dir(format!("{stem}.key")),
                mode: 0o600,
                content: Content::PrivateKey {
                    name: format!("client-{stem}"),
                },
            },
        );
        if proven {
            for s in [&mut crt, &mut key] {
                kept(s, format!("{role}'s own client certificate works: the access node reaches every data node as {role} (proved from the access node)"));
            }
        }
        out.push(crt);
        out.push(key);
    }
    Ok(())
}

/// The TimescaleDB setting the auth mode needs on the access node, when
/// the plan gives a path: `timescaledb.passfile` or `timescaledb.ssl_dir`.
/// Set in the cluster database once the extension exists there (the
/// cluster phase places it before the data nodes are added); it takes
/// effect on reload.
pub(super) fn timescaledb_setting(ctx: &Ctx) -> Option<Step> {
    let plan = ctx.plan;
    let (what, name, value, title, why) = match plan.auth.mode {
        AuthMode::Password => {
            let p = plan.auth.password.clone().unwrap_or_default().passfile;
            (
                "passfile-setting",
                "timescaledb.passfile",
                p,
                "Point timescaledb.passfile at the passfile",
                "an absolute path avoids depending on PGDATA; takes effect on reload",
            )
        }
        AuthMode::Certificate => {
            let d = plan.auth.certificate.clone().unwrap_or_default().ssl_dir;
            (
                "ssl-dir-setting",
                "timescaledb.ssl_dir",
                d,
                "Point timescaledb.ssl_dir at the client certificates",
                "the files sit directly in this directory; takes effect on reload",
            )
        }
        AuthMode::Trust => return None,
    };
    if value.is_empty() {
        return None;
    }
    let an = &plan.access_node.name;
    let changes = vec![ctx.setting_change(an, name, SettingValue::Set(value), false)];
    let mut s = step(
        an,
        Phase::Cluster,
        what,
        title,
        why,
        Action::Settings {
            database: plan.database.clone(),
            changes: changes.clone(),
        },
    );
    s.state = settled(ctx, an, &changes);
    Some(s)
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
