//! A role's settings (`ALTER ROLE role [IN DATABASE db] SET`, in
//! `pg_db_role_setting`): read on the source, written again as pg_dump
//! writes them.

use crate::migrate::guc::value_sql;
use crate::quote::sql::ident;
use tokio_postgres::Client;

/// A role's setting on the source (`ALTER ROLE role [IN DATABASE db] SET`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    pub role: String,
    /// Set in the migrated database only (else in every database).
    pub in_database: bool,
    pub name: String,
    /// As the server stores it (a list's elements quoted as identifiers).
    pub value: String,
}

/// The settings of the roles tsmn carries (read-only).
pub async fn read(an: &Client) -> Result<Vec<Setting>, tokio_postgres::Error> {
    // Every database's settings (setdatabase 0) and this database's.
    Ok(an
        .query(
            "SELECT r.rolname::text, s.setdatabase <> 0, c.config FROM pg_catalog.pg_db_role_setting s \
             JOIN pg_catalog.pg_roles r ON r.oid = s.setrole CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY c(config, i) \
             WHERE r.rolname !~ '^pg_' AND r.oid <> 10 \
             AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \
             ORDER BY 1, 2, c.i",
            &[],
        )
        .await?
        .iter()
        .filter_map(|r| {
            let config: String = r.get(2);
            let (name, value) = config.split_once('=')?;
            Some(Setting {
                role: r.get(0),
                in_database: r.get(1),
                name: name.into(),
                value: value.into(),
            })
        })
        .collect())
}

/// PURE: the setting made again on the target, whose database is `db`
/// (as pg_dump writes a role's settings).
pub fn setting_sql(st: &Setting, db: &str) -> String {
    format!(
        "ALTER ROLE {}{} SET {} TO {}",
        ident(&st.role),
        if st.in_database {
            format!(" IN DATABASE {}", ident(db))
        } else {
            String::new()
        },
        ident(&st.name),
        value_sql(&st.name, &st.value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_as_pg_dump_writes_them() {
        let st = |name: &str, value: &str, in_database: bool| Setting {
            role: "app".into(),
            in_database,
            name: name.into(),
            value: value.into(),
        };
        assert_eq!(
            setting_sql(
                &st("search_path", "app, \"My \"\"S\"\"\", public", false),
                "single"
            ),
            "ALTER ROLE \"app\" SET \"search_path\" TO 'app', 'My \"S\"', 'public'"
        );
        assert_eq!(
            setting_sql(&st("work_mem", "64MB", true), "new db"),
            "ALTER ROLE \"app\" IN DATABASE \"new db\" SET \"work_mem\" TO '64MB'"
        );
        assert_eq!(
            setting_sql(&st("app.note", "it's, a list?", false), "x"),
            "ALTER ROLE \"app\" SET \"app.note\" TO 'it''s, a list?'"
        );
    }
}
