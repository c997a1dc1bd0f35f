//! PURE: the keys a connection string sets for all nodes at once (TLS
//! files, sslmode, the passfile: `credentials` in the plan). A node's
//! string fills a field the plan leaves empty; strings that disagree with
//! the plan or with each other are a problem, since tsmn reaches every
//! node the same way.

use super::{Conninfo, Role};
use crate::plan::model::Credentials;
use crate::plan::problem::Problem;
use crate::plan::SslMode;

/// The credentials field a plan-wide key fills.
pub fn field<'c>(c: &'c mut Credentials, key: &str) -> Option<&'c mut String> {
    Some(match key {
        "sslmode" => &mut c.sslmode,
        "sslrootcert" => &mut c.sslrootcert,
        "sslcert" => &mut c.sslcert,
        "sslkey" => &mut c.sslkey,
        "passfile" => &mut c.passfile,
        _ => return None,
    })
}

/// `credentials` with what each (field, connection string) says for all
/// nodes; the disagreements as problems.
pub fn credentials(c: &mut Credentials, read: &[(String, Conninfo)], out: &mut Vec<Problem>) {
    // Which string set a field the plan left empty, for a later disagreement.
    let mut set_by: Vec<(&str, &str)> = Vec::new();
    for (path, info) in read {
        for (key, value) in info.iter() {
            if key.role != Role::Credential || value.is_empty() {
                continue;
            }
            if key.name == "sslmode" && SslMode::parse(value).is_none() {
                out.push(Problem::new(
                    path,
                    format!("sslmode `{value}` is not an sslmode"),
                    format!("use one of {}", SslMode::names()),
                ));
                continue;
            }
            let Some(have) = field(c, key.name) else {
                continue;
            };
            if have.is_empty() {
                *have = value.to_string();
                set_by.push((key.name, path));
            } else if have != value {
                let other = set_by.iter().find(|(k, _)| *k == key.name).map_or_else(
                    || format!("credentials.{}", key.name),
                    |(_, p)| (*p).to_string(),
                );
                out.push(Problem::new(
                    path,
                    format!(
                        "sets {}={value}, but {other} says {have}: tsmn reaches every node the same way",
                        key.name
                    ),
                    format!("make them the same, or remove {} from the connection string", key.name),
                ));
            }
        }
    }
}
