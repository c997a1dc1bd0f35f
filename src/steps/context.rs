//! What several step builders ask of the facts about the cluster as a
//! whole (the access node's database, its locale, where the engine's
//! functions live, why a data node cannot be added): methods of the build
//! context, so the builders share them without importing each other.

use super::{Ctx, SettingChange, SettingValue};

impl<'a> Ctx<'a> {
    /// The access node's facts about the cluster database, when it exists.
    pub fn an_database(&self) -> Option<&'a crate::facts::DatabaseFacts> {
        self.server(&self.plan.access_node.name)
            .and_then(|s| s.database.as_ref())
    }

    /// The encoding and locale of the access node's cluster database: what it
    /// has, or what it gets when tsmn creates it (template1's). The data
    /// nodes' databases must match it (add_data_node checks).
    pub fn an_locale(&self) -> Option<&'a crate::facts::DatabaseFacts> {
        let an = self.server(&self.plan.access_node.name)?;
        an.database.as_ref().or(an.new_database.as_ref())
    }

    /// Where TimescaleDB's internal functions live, by the access node's version.
    pub fn functions_schema(&self) -> &'static str {
        crate::timescale::functions_schema(
            self.an_database().and_then(|d| d.timescaledb.as_deref()),
        )
    }

    /// Why add_data_node is known to fail for this data node (what tsmn check
    /// reports for it): its database belongs to another cluster, or its
    /// encoding or collation differ from the access node database's.
    pub fn cannot_add(&self, dn: &str) -> Option<String> {
        let theirs = self.server(dn)?.database.as_ref()?;
        let an_db = self.an_database();
        if let Some(dist) = &theirs.dist_uuid {
            let ours = an_db.and_then(|d| d.uuid.as_ref()) == Some(dist);
            if ours && !an_db.is_some_and(|d| d.data_nodes.iter().any(|m| m == dn)) {
                return Some(format!(
                    "database {} on {dn} is left from when {dn} was a data node of this cluster (it was removed) and keeps its id: add_data_node would fail with `node is already a data node` (tsmn check: removed_member_database); drop it on {dn} if its rows are not needed, or choose another database name",
                    theirs.name
                ));
            }
            if !ours {
                return Some(format!(
                    "database {} on {dn} already belongs to another distributed database (dist_uuid {dist}): add_data_node would fail with `node is already a data node` (tsmn check: member_of_other_cluster); drop it on {dn} if its data is not needed, or choose another database name",
                    theirs.name
                ));
            }
        }
        let mine = self.an_locale()?;
        for (what, a, b) in [
            ("encoding", &mine.encoding, &theirs.encoding),
            ("collation", &mine.collate, &theirs.collate),
            ("ctype", &mine.ctype, &theirs.ctype),
        ] {
            if a != b {
                return Some(format!(
                    "database {} on {dn} has {what} {b}, the access node's has {a}: add_data_node would fail with `database exists but has wrong {what}` (tsmn check: database_locale_differs)",
                    theirs.name
                ));
            }
        }
        None
    }

    /// A change of `name` on `node` to `new`, with the value it has now.
    pub fn setting_change(
        &self,
        node: &str,
        name: &str,
        new: SettingValue,
        restart: bool,
    ) -> SettingChange {
        let current = self
            .server(node)
            .and_then(|s| s.setting(name))
            .map(str::to_string);
        SettingChange {
            name: name.to_string(),
            current,
            new,
            restart,
        }
    }
}
