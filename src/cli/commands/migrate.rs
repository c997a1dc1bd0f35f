//! `tsmn migrate`: the command face of the library's migrate module
//! (preflight with --check, else the offline copy, asked first).

use super::super::args::{MigrateCmd, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::super::prompt::confirm;
use super::{failed, runtime};
use std::io::IsTerminal;
use tsmn::migrate::connect::{parse_target, Reach};
use tsmn::migrate::schema::SpaceDimension;
use tsmn::migrate::{MigrateError, MigrateOptions, Online};

fn fail(json: bool, e: &MigrateError) -> u8 {
    failed("migrate", json, &e.to_string(), e.exit_code())
}

pub fn migrate(a: &MigrateCmd) -> u8 {
    let plan = match tsmn::plan::system::load_plan(&a.plan) {
        Ok(p) => p,
        Err(e) => return failed("migrate", a.json, &e.to_string(), EXIT_USAGE),
    };
    let target = match parse_target(&a.to, &plan) {
        Ok(t) => t,
        Err(e) => return fail(a.json, &e),
    };
    let timeout = match a.connect.timeout() {
        Ok(t) => t,
        Err(e) => return failed("migrate", a.json, &e, EXIT_USAGE),
    };
    note_unused(&a.to);
    let reach = match Reach::new(&plan, timeout) {
        Ok(r) => r,
        Err(e) => return fail(a.json, &e),
    };
    let o = MigrateOptions {
        plan_path: a.plan.clone(),
        target,
        space: if a.keep_space_partitioning {
            SpaceDimension::Keep
        } else {
            SpaceDimension::Drop
        },
        with_role_passwords: a.with_role_passwords,
        online: a.online.then(|| Online {
            ask: Box::new(if a.yes {
                |_: &str| true
            } else {
                |q: &str| confirm(q)
            }),
        }),
    };
    // One run per plan at a time (apply's lock), decided before anything connects.
    let _lock = if a.check {
        None
    } else {
        match tsmn::flow::lock::take(&a.plan) {
            Ok(l) => Some(l),
            Err(e) => return failed("migrate", a.json, &e.to_string(), e.exit_code()),
        }
    };
    if a.abandon {
        return abandon(a, &reach, &o);
    }
    if !a.check && tsmn::migrate::already_done(&o) {
        // A run killed between its journal's last line and dropping tsmn's
        // record on the target left that record: it goes now.
        if let Ok(true) = runtime().block_on(tsmn::migrate::resume::tidy(&reach, &o.target)) {
            output::tell("dropped tsmn's record (schema tsmn_migrate) that the finished run left on the target");
        }
        let line = format!(
            "nothing to do: the migration into {} finished and was verified (journal {})",
            o.target.shown(),
            tsmn::migrate::journal::path_for(&a.plan, &o.target).display()
        );
        if a.json {
            output::print_json(&output::document(
                "tsmn-migrate/1",
                serde_json::json!({ "nothing_to_do": true, "target": o.target.shown() }),
            ));
        }
        output::tell(&line);
        return EXIT_OK;
    }
    let rt = runtime();
    output::tell(&format!(
        "reading the cluster of {} and the target {} ...",
        a.plan.display(),
        o.target.shown()
    ));
    let pf = match rt.block_on(tsmn::migrate::check(&reach, &o)) {
        Ok(p) => p,
        Err(e) => return fail(a.json, &e),
    };
    let text = tsmn::migrate::preflight::render(&pf);
    if a.check {
        if a.json {
            output::print_json(&output::document(
                "tsmn-migrate-check/1",
                serde_json::to_value(&pf).unwrap_or_default(),
            ));
        } else {
            crate::cli::output::out!("{text}");
        }
        return if pf.blockers.is_empty() {
            EXIT_OK
        } else {
            EXIT_FAILED
        };
    }
    // Shown whatever -q says when it asks (nobody answers blind).
    if a.yes {
        output::tell(text.trim_end());
    } else {
        eprint!("{text}");
    }
    copy(a, &rt, &reach, &o, &pf)
}

/// After the preflight: refused when blocked, asked first, then the copy.
fn copy(
    a: &MigrateCmd,
    rt: &tokio::runtime::Runtime,
    reach: &Reach,
    o: &MigrateOptions,
    pf: &tsmn::migrate::Preflight,
) -> u8 {
    if !pf.blockers.is_empty() {
        return failed(
            "migrate",
            a.json,
            "the migration is blocked (see above); nothing was copied\n    fix: correct each blocker, then run tsmn migrate --check again",
            EXIT_FAILED,
        );
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return failed("migrate", a.json, "tsmn migrate writes to the target and asks first, but there is no terminal to ask at\n    fix: add --yes to run without asking", EXIT_USAGE);
        }
        let q = if o.online.is_some() {
            format!(
                "Copy the cluster into {} while the applications write (the writes are frozen later, asked first)? [y/N] ",
                o.target.shown()
            )
        } else {
            format!(
                "Stop every writer to the source now. Copy the cluster into {}? [y/N] ",
                o.target.shown()
            )
        };
        if !confirm(&q) {
            eprintln!("nothing was copied");
            return EXIT_FAILED;
        }
    }
    let say = |l: &str| output::tell(l);
    match rt.block_on(tsmn::migrate::migrate(reach, o, pf, &say)) {
        Ok(r) => {
            if a.json {
                output::print_json(&output::document(
                    "tsmn-migrate/1",
                    serde_json::to_value(&r).unwrap_or_default(),
                ));
            } else {
                crate::cli::output::out!("{}", tsmn::migrate::render::report(&r, &o.target));
            }
            EXIT_OK
        }
        Err(e) => fail(a.json, &e),
    }
}

/// `--abandon`: the freeze lifted (asked first), the journal told.
fn abandon(a: &MigrateCmd, reach: &Reach, o: &MigrateOptions) -> u8 {
    let db = &reach.plan.database;
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return failed("migrate", a.json, "tsmn migrate --abandon allows writes to the source again and asks first, but there is no terminal to ask at\n    fix: add --yes to run without asking", EXIT_USAGE);
        }
        let q = format!(
            "Give the migration into {} up and allow writes to {db} again? [y/N] ",
            o.target.shown()
        );
        if !confirm(&q) {
            eprintln!("nothing was changed");
            return EXIT_FAILED;
        }
    }
    match runtime().block_on(tsmn::migrate::abandon(reach, o)) {
        Ok(()) => {
            if a.json {
                output::print_json(&output::document(
                    "tsmn-migrate/1",
                    serde_json::json!({ "abandoned": true, "target": o.target.shown() }),
                ));
            }
            output::tell(&format!("the freeze is lifted: writes to {db} are allowed again and its job scheduler runs. The target keeps what was copied; a new tsmn migrate starts over there only where the source changed."));
            EXIT_OK
        }
        Err(e) => fail(a.json, &e),
    }
}

/// What `--to`'s connection string says of the connection itself, which
/// the migration does not take: it reaches the target the way the plan
/// reaches its nodes (credentials, --connect-timeout, tsmn's session name).
fn note_unused(to: &str) {
    let Ok(t) = tsmn::discover::parse_target(to, None, None, &tsmn::plan::system::System) else {
        return;
    };
    let c = &t.conn;
    let mut unused: Vec<&str> = Vec::new();
    let given = |v: &Option<String>| v.is_some();
    for (key, set) in [
        ("hostaddr", given(&c.hostaddr)),
        ("sslmode", !c.credentials.sslmode.is_empty()),
        ("sslrootcert", !c.credentials.sslrootcert.is_empty()),
        ("sslcert", !c.credentials.sslcert.is_empty()),
        ("sslkey", !c.credentials.sslkey.is_empty()),
        ("passfile", !c.credentials.passfile.is_empty()),
        ("connect_timeout", given(&c.connect_timeout)),
        ("application_name", given(&c.application_name)),
        (
            "fallback_application_name",
            given(&c.fallback_application_name),
        ),
        ("options", given(&c.options)),
    ] {
        if set {
            unused.push(key);
        }
    }
    for key in unused {
        output::tell(&format!("note: --to: {key} is ignored: tsmn migrate reaches the target the way the plan reaches its nodes (its credentials, --connect-timeout, PGAPPNAME)"));
    }
    for n in &c.ignored {
        output::tell(&format!("note: --to: {n}"));
    }
}
