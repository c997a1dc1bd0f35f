//! The migrate screen's work, as `tsmn migrate` does it: the preflight
//! (read-only), then the migration under the plan's run lock, its progress
//! lines and its end sent back as messages.

use super::msg::{MigrateChoice, MigrateMsg, Msg};
use crate::migrate::connect::{parse_target, Reach};
use crate::migrate::schema::SpaceDimension;
use crate::migrate::{MigrateOptions, Online};
use crate::plan::Plan;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// What both parts need: the plan, where it is, and how long to wait.
pub struct Job {
    pub plan: Plan,
    pub plan_path: PathBuf,
    pub connect_timeout: Duration,
    pub target: String,
}

impl Job {
    /// The reach and options of a migration into the job's target. Online:
    /// the screen asked once before the copy, saying that the writes are
    /// frozen when it is done, so the freeze is not asked again.
    fn open(&self, choice: MigrateChoice) -> Result<(Reach, MigrateOptions), String> {
        let target = parse_target(&self.target, &self.plan).map_err(|e| e.to_string())?;
        let reach = Reach::new(&self.plan, self.connect_timeout).map_err(|e| e.to_string())?;
        let o = MigrateOptions {
            plan_path: self.plan_path.clone(),
            target,
            space: SpaceDimension::Drop,
            // The roles' stored verifiers only when `p` chose them, as
            // the command's --with-role-passwords.
            with_role_passwords: choice.role_passwords,
            online: choice.online.then(|| Online {
                ask: Box::new(|_: &str| true),
            }),
        };
        Ok((reach, o))
    }
}

/// The preflight, as text.
pub fn check(job: Job, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let result = match job.open(MigrateChoice::default()) {
            Ok((reach, o)) => crate::migrate::check(&reach, &o)
                .await
                .map(|pf| {
                    (
                        crate::migrate::preflight::render(&pf),
                        !pf.blockers.is_empty(),
                    )
                })
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let _ = tx.send(Msg::Migrate(MigrateMsg::Checked(result)));
    });
}

/// The migration, its lines as they come.
pub fn run(job: Job, choice: MigrateChoice, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let result = migrate(&job, choice, &tx).await;
        let _ = tx.send(Msg::Migrate(MigrateMsg::Finished(result)));
    });
}

async fn migrate(
    job: &Job,
    choice: MigrateChoice,
    tx: &UnboundedSender<Msg>,
) -> Result<String, String> {
    // One run per plan at a time, as for tsmn migrate and tsmn apply.
    let _lock = crate::flow::lock::take(&job.plan_path).map_err(|e| e.to_string())?;
    let (reach, o) = job.open(choice)?;
    if crate::migrate::already_done(&o) {
        return Ok(format!(
            "nothing to do: the migration into {} finished and was verified",
            o.target.shown()
        ));
    }
    let pf = crate::migrate::check(&reach, &o)
        .await
        .map_err(|e| e.to_string())?;
    if !pf.blockers.is_empty() {
        return Err("the migration is blocked (the preflight says why); nothing was copied".into());
    }
    let say = |l: &str| {
        let _ = tx.send(Msg::Migrate(MigrateMsg::Line(l.to_string())));
    };
    let r = crate::migrate::migrate(&reach, &o, &pf, &say)
        .await
        .map_err(|e| e.to_string())?;
    Ok(crate::migrate::render::report(&r, &o.target))
}
