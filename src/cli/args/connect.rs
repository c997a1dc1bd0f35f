//! What every connecting command takes alike: how long it waits for each
//! connection (one reading of --connect-timeout, a connection string's
//! connect_timeout and PGCONNECT_TIMEOUT, libpq's rules), and `-` for
//! standard output where an option names a file to write.

use std::path::Path;
use std::time::Duration;
use tsmn::plan::system::env;

/// How long to wait for each connection.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectOpts {
    /// Seconds to wait for each connection (TCP, TLS and login together);
    /// 0 waits without a limit [default: PGCONNECT_TIMEOUT as libpq reads
    /// it, else 5]
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
}

impl ConnectOpts {
    /// The wait: --connect-timeout, else PGCONNECT_TIMEOUT, else tsmn's
    /// default. An error names the variable and says how to fix it.
    pub fn timeout(&self) -> Result<Duration, String> {
        self.timeout_with(None)
    }

    /// `timeout`, with a connection string's connect_timeout between the
    /// option and the variable (libpq: the string beats the environment).
    pub fn timeout_with(&self, from_string: Option<&str>) -> Result<Duration, String> {
        if let Some(secs) = self.connect_timeout {
            return Ok(match secs {
                0 => env::WAIT_FOREVER,
                s => Duration::from_secs(s).min(env::WAIT_FOREVER),
            });
        }
        if let Some(t) = from_string {
            return env::parse_connect_timeout(t).map_err(|e| {
                format!("the connection string's connect_timeout: {e}\n    fix: give whole seconds (connect_timeout=10)")
            });
        }
        Ok(env::connect_timeout()?.unwrap_or(Duration::from_secs(
            tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS,
        )))
    }
}

/// `-`: standard output, as other tools read it.
pub fn is_stdout(out: &Path) -> bool {
    out == Path::new("-")
}
