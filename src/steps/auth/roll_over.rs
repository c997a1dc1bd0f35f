//! A CA roll-over (`--roll-ca`): the order in which the nodes trust the
//! new CA beside the old, and drop the old one once the cluster is
//! verified.

use crate::steps::material::Material;
use crate::steps::{
    step, Action, Content, Ctx, Order, Phase, ServerPath, Step, StepState, Template,
};

/// A CA roll-over (`--roll-ca`), on the steps built: the access node
/// trusts both CAs (its root.crt, and a reload) before anything else of
/// the phase; the data nodes then take both CAs and their new server
/// certificates; the access node's own new certificates come after them.
/// Once the cluster is verified, every node's root.crt drops the old CA
/// (reloaded), and the cluster is verified again.
pub(in crate::steps) fn roll_over(ctx: &Ctx, m: &Material, steps: &mut Vec<Step>) {
    let an = ctx.plan.access_node.name.as_str();
    let root = |node: &str| crate::steps::step_id(node, Phase::Auth, "root.crt");
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
    for mut v in crate::steps::verify::build(ctx, ctx.functions_schema()) {
        v.id = format!("{}-new-ca-only", v.id);
        v.title = format!("{} (the new CA only)", v.title);
        v.order = Order::Last;
        steps.push(v);
    }
}
