//! Certificate mode: each node's CA, server certificate, key and TLS
//! settings; the access node's client certificate and key per role; the
//! pg_hba.conf rules that ask for them.

use super::hba::hba_rules;
use super::kept;
use crate::steps::material::Material;
use crate::steps::settings::settled;
use crate::steps::{
    step, Action, Content, Ctx, Phase, ServerPath, SettingValue, Step, StepsError, Template,
};
use crate::timescale::cert_file_stem;

pub(super) fn certificate(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
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
    hba_rules(ctx, out)
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
    m: Option<&Material>,
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
fn trusted(m: &Material) -> String {
    match &m.previous_ca {
        Some(old) => format!("{}{old}", m.ca_cert),
        None => m.ca_cert.clone(),
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
    found: Option<(&Material, Option<&(String, String)>)>,
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
    m: Option<&Material>,
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
