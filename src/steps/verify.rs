//! The verification steps: from the access node, in the cluster database, as
//! every role of the plan, each data node must answer (`ping_data_node`
//! returns false rather than raising when the access node cannot connect
//! or log in, so its result is read). One step per data node, run at once
//! on their own sessions (each ping connects to its data node: one after
//! another they would cost every data node's round trips in turn). One
//! SQL text for every face: preview shows it, export writes it, the
//! executor sends it; it raises an error naming each pair that does not
//! answer, so psql and tsmn both stop on it.

use super::{step, Action, Ctx, Order, Phase, Reach, Step};
use crate::quote::sql::{dollar, literal};

pub(super) fn build(ctx: &Ctx, schema: &str) -> Vec<Step> {
    let plan = ctx.plan;
    plan.data_nodes
        .iter()
        .map(|dn| {
            let reaches: Vec<Reach> = plan
                .auth
                .roles
                .iter()
                .map(|role| Reach {
                    role: role.clone(),
                    data_node: dn.name.clone(),
                })
                .collect();
            let sql = sql(schema, &reaches);
            let mut s = step(
                &plan.access_node.name,
                Phase::Verify,
                &format!("ping-{}", dn.name),
                format!("Each role reaches {}", dn.name),
                "TimescaleDB connects as the role that runs a query: each role must get in to each data node",
                Action::Verify {
                    database: plan.database.clone(),
                    reaches,
                    sql,
                },
            );
            s.order = Order::Together;
            s
        })
        .collect()
}

/// In password and certificate mode, proof that each data node enforces the
/// mode and not an older rule (a trust rule still loaded, a reload that
/// never happened): from the access node, a login as the superuser that
/// brings neither a password nor a client certificate must be refused,
/// without TLS and (certificate mode) with it. Through dblink's C function
/// as a temporary function of the session, as the checks tsmn makes; one
/// statement text for preview, export and the run.
pub(super) fn enforced(ctx: &Ctx) -> Vec<Step> {
    use crate::plan::AuthMode;
    let plan = ctx.plan;
    let without = match plan.auth.mode {
        AuthMode::Trust => return Vec::new(),
        AuthMode::Password => "the password",
        AuthMode::Certificate => "a client certificate",
    };
    let an_dblink = ctx
        .server(&plan.access_node.name)
        .is_none_or(|an| an.dblink_available);
    if !an_dblink {
        return Vec::new();
    }
    plan.data_nodes
        .iter()
        .map(|dn| {
            let tries: Vec<String> =
                crate::timescale::without_credentials(plan, &dn.host, dn.port)
                    .iter()
                    .map(|(_, info)| literal(info))
                    .collect();
            let body = format!(
                "
DECLARE
  try text[] := ARRAY[{tries}]::text[];
  got boolean;
BEGIN
  FOR i IN 1 .. array_length(try, 1) LOOP
    BEGIN
      PERFORM * FROM pg_temp.tsmn_dblink(try[i], 'SELECT 1') AS t(x int);
      got := true;
    EXCEPTION WHEN OTHERS THEN
      got := false;
    END;
    IF got THEN
      RAISE EXCEPTION '{dn_text} let the access node in as {su_text} without {without}: it enforces an older rule than the plan''s mode'
        USING HINT = 'tsmn check: hba_not_loaded or the rule that admits it; a reload or tsmn apply puts the mode''s rule in force';
    END IF;
  END LOOP;
END
",
                tries = tries.join(", "),
                dn_text = dn.name.replace('\'', "''"),
                su_text = plan.superuser.replace('\'', "''"),
            );
            let statements = vec![
                super::Statement::plain(crate::timescale::DBLINK_FUNCTION),
                super::Statement::plain(format!("DO {}", dollar("tsmn_enforced", &body))),
            ];
            let mut s = step(
                &plan.access_node.name,
                Phase::Verify,
                &format!("enforced-{}", dn.name),
                format!("{} refuses a login without {without}", dn.name),
                "proves the data node enforces the mode itself, not an older rule still in force: the access node tries to log in with neither password nor certificate, and must be refused",
                Action::Sql {
                    database: "postgres".into(),
                    statements,
                },
            );
            s.order = Order::Last;
            s
        })
        .collect()
}

/// The check as one statement. `SET ROLE` inside the block changes the role
/// TimescaleDB connects as (it connects as current_user), and is reset
/// after each ping.
pub fn sql(schema: &str, reaches: &[Reach]) -> String {
    let pairs: Vec<String> = reaches
        .iter()
        .map(|r| format!("ARRAY[{}, {}]", literal(&r.role), literal(&r.data_node)))
        .collect();
    let body = format!(
        "
DECLARE
  reach text[] := ARRAY[{pairs}]::text[];
  bad text[] := '{{}}';
BEGIN
  FOR i IN 1 .. coalesce(array_length(reach, 1), 0) LOOP
    EXECUTE format('SET ROLE %I', reach[i][1]);
    IF NOT coalesce({schema}.ping_data_node(reach[i][2]), false) THEN
      bad := bad || format('%s as %s', reach[i][2], reach[i][1]);
    END IF;
    RESET ROLE;
  END LOOP;
  IF cardinality(bad) > 0 THEN
    RAISE EXCEPTION 'the access node cannot reach %', array_to_string(bad, ', ')
      USING HINT = 'tsmn check names the cause and the fix for each';
  END IF;
END
",
        pairs = pairs.join(", ")
    );
    format!("DO {}", dollar("tsmn_verify", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_is_in_the_check_and_names_are_quoted() {
        let r = |role: &str, dn: &str| Reach {
            role: role.into(),
            data_node: dn.into(),
        };
        let s = sql(
            "_timescaledb_functions",
            &[r("postgres", "dn1"), r("o'k", "dn2")],
        );
        assert!(
            s.contains("ARRAY['postgres', 'dn1'], ARRAY['o''k', 'dn2']"),
            "{s}"
        );
        assert!(s.starts_with("DO $tsmn_verify$") && s.ends_with("$tsmn_verify$"));
        assert!(s.contains("_timescaledb_functions.ping_data_node(reach[i][2])"));
    }
}
