//! The verification steps: from the access node, in the cluster database, as
//! every role of the plan, each data node must answer (reference §6
//! `ping_data_node`, D.1: it returns false rather than raising, so its
//! result is read). One step per data node, run at once on their own
//! sessions (each ping connects to its data node: one after another they
//! would cost every data node's round trips in turn). One SQL text for
//! every face: preview shows it, export writes it, the executor sends it;
//! it raises an error naming each pair that does not answer, so psql and
//! tsmn both stop on it.

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

/// The check as one statement. `SET ROLE` inside the block changes the role
/// TimescaleDB connects as (reference D.1), and is reset after each ping.
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
