//! libpq's sslmode names, as the plan and PGSSLMODE give them (what each
//! does to a connection is probe/tls.rs's business).

/// libpq's sslmode values, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Without TLS first; with TLS when the server refuses that.
    Allow,
    /// With TLS when the server offers it; the certificate is not checked.
    Prefer,
    /// TLS; the certificate is checked against a root certificate only when
    /// one is at hand (libpq then behaves as verify-ca).
    Require,
    /// TLS, the certificate chained to the root certificate.
    VerifyCa,
    /// verify-ca, and the certificate names the host tsmn connected to.
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 6] = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    pub fn parse(s: &str) -> Option<SslMode> {
        SslMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The list an error offers.
    pub fn names() -> String {
        SslMode::ALL.map(SslMode::as_str).join(", ")
    }

    /// The modes that check the server's certificate against a root.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}
