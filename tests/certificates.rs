//! Generated certificates: checked by openssl, and by a real server with
//! `ssl = on` and a `hostssl ... cert` rule.

mod support;

use std::process::Command;
use support::*;
use tsmn::plan::parse_plan;
use tsmn::plan::state_dir as dir_for;
use tsmn::sandbox::{ClusterSpec, DataFile};
use tsmn::steps::material::load_or_create;
use tsmn::timescale::cert_file_stem;

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn cert_plan(dn_host: &str) -> tsmn::plan::Plan {
    parse_plan(
        &format!(
            "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\nconnect_host = \"an.example.com\"\n\
             [[data_nodes]]\nname = \"dn1\"\nhost = \"{dn_host}\"\n[auth]\nmode = \"certificate\"\nroles = [\"postgres\", \"testrole\"]\n"
        ),
        "p",
    )
    .unwrap()
}

#[test]
fn openssl_accepts_the_generated_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let plan = cert_plan("127.0.0.1");
    let m = load_or_create(&plan, &dir_for(&dir.path().join("plan.toml"))).expect("material");
    let mdir = dir.path().join("plan.toml.tsmn");
    assert_eq!(m.dir, mdir);
    let ca = mdir.join("ca.crt");
    for f in [
        "server-an.crt",
        "server-dn1.crt",
        &format!("client-{}.crt", cert_file_stem("postgres")),
        &format!("client-{}.crt", cert_file_stem("testrole")),
    ] {
        let out = openssl(&[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            mdir.join(f).to_str().unwrap(),
        ]);
        assert!(out.contains(": OK"), "{f}: {out}");
    }
    let an = openssl(&[
        "x509",
        "-in",
        mdir.join("server-an.crt").to_str().unwrap(),
        "-noout",
        "-subject",
        "-ext",
        "subjectAltName",
    ]);
    assert!(an.contains("CN = an") || an.contains("CN=an"), "{an}");
    assert!(
        an.contains("IP Address:10.0.0.10") && an.contains("DNS:an.example.com"),
        "every address the node is reached by: {an}"
    );
    let client = openssl(&[
        "x509",
        "-in",
        mdir.join(format!("client-{}.crt", cert_file_stem("testrole")))
            .to_str()
            .unwrap(),
        "-noout",
        "-subject",
    ]);
    assert!(
        client.contains("CN = testrole") || client.contains("CN=testrole"),
        "{client}"
    );
    // Keys are private.
    use std::os::unix::fs::PermissionsExt;
    for f in ["ca.key", "server-dn1.key"] {
        assert_eq!(
            std::fs::metadata(mdir.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "{f}"
        );
    }
    // A second call reuses the same material.
    let again = load_or_create(&plan, &mdir).unwrap();
    assert_eq!(again.ca_cert, m.ca_cert);
    assert_eq!(again.servers, m.servers);
}

#[test]
fn a_real_server_runs_on_them_and_admits_the_client_certificate_only_as_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let plan = cert_plan("127.0.0.1");
    let m = load_or_create(&plan, &dir.path().join("material")).expect("material");
    let (cert, key) = m.servers["dn1"].clone();
    let node = TestCluster::start(ClusterSpec {
        name: "dn1".into(),
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), "server.crt".into()),
            ("ssl_key_file".into(), "server.key".into()),
            ("ssl_ca_file".into(), "root.crt".into()),
        ],
        hba: Some(vec![
            "local all all trust".into(),
            "hostssl all all 127.0.0.1/32 cert".into(),
        ]),
        files: vec![
            DataFile {
                name: "server.crt".into(),
                contents: cert.into_bytes(),
                mode: 0o644,
            },
            DataFile {
                name: "server.key".into(),
                contents: key.into_bytes(),
                mode: 0o600,
            },
            DataFile {
                name: "root.crt".into(),
                contents: m.ca_cert.clone().into_bytes(),
                mode: 0o644,
            },
        ],
    });
    assert_eq!(node.sql("postgres", "SHOW ssl"), ["on"]);
    node.sql("postgres", "CREATE ROLE testrole LOGIN");
    let stem = cert_file_stem("postgres");
    let md = dir.path().join("material");
    let conn = |user: &str| {
        format!(
            "host=127.0.0.1 port={} dbname=postgres user={user} sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
            node.cluster.port,
            md.join("ca.crt").display(),
            md.join(format!("client-{stem}.crt")).display(),
            md.join(format!("client-{stem}.key")).display()
        )
    };
    let (ok, out, err) = psql(
        &conn("postgres"),
        "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    );
    assert!(
        ok,
        "the client certificate for postgres logs in as postgres: {err}"
    );
    assert_eq!(out, "postgres true");
    let (ok, _, err) = psql(&conn("testrole"), "SELECT 1", &[]);
    assert!(!ok, "postgres's certificate must not log in as testrole");
    assert!(
        err.contains("certificate authentication failed for user \"testrole\""),
        "{err}"
    );
}

/// Preview writes nothing: not a key beside the plan (which may sit in a
/// source tree). Export makes the material, in a 0700 directory that
/// ignores itself for git.
#[test]
fn preview_writes_nothing_and_the_material_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = support::temp_dir();
    let plan = support::copy_asset(dir.path(), "plan-certificate.toml");
    let before = support::files_below(dir.path());
    let out = support::tsmn()
        .args(["preview", "--offline", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    support::assert_success(&out);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("made by tsmn export or apply"), "{shown}");
    assert_eq!(
        support::files_below(dir.path()),
        before,
        "preview wrote files"
    );
    assert!(!tsmn::plan::state_dir(&plan).exists());

    let exp = support::tsmn()
        .args(["export", "--offline", "--plan"])
        .arg(&plan)
        .arg("--out")
        .arg(dir.path().join("export"))
        .output()
        .unwrap();
    support::assert_success(&exp);
    let material = tsmn::plan::state_dir(&plan);
    assert_eq!(
        std::fs::metadata(&material).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        support::read(&material.join(".gitignore")).lines().last(),
        Some("*")
    );
    assert!(material.join("ca.key").is_file());
}

/// Certificates that run out soon are reported with the days left, under
/// the node that uses them; `tsmn apply --renew-certificates` issues them
/// anew from the same CA (the old ones kept aside), and check is clear.
#[test]
fn expiring_certificates_are_reported_and_renewed_from_the_same_ca() {
    use std::time::Duration;
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let mut plan = plan_for(
        &an.cluster,
        &[&dn.cluster],
        tsmn::plan::AuthMode::Certificate,
    );
    plan.auth
        .certificate
        .get_or_insert_with(Default::default)
        .validity_days = 10;
    let path = write_plan(work.path(), &plan);
    let apply = |extra: &[&str]| {
        tsmn()
            .args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
            .arg(&path)
            .args(extra)
            .output()
            .unwrap()
    };
    assert_success(&apply(&[]));
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "certificate_expiring");
    // Ten days of validity, read a moment later: 9 or 10 whole days left
    // (the issuer may round the end to a whole second or day).
    assert!(
        f.what.contains("server certificate")
            && (f.what.contains("expires in 9 days") || f.what.contains("expires in 10 days")),
        "{f:?}"
    );
    assert!(
        f.fix.starts_with("run tsmn apply --renew-certificates: "),
        "{f:?}"
    );
    let f = finding(&found, "an", "certificate_expiring");
    assert!(f.fix.contains("--renew-certificates"), "{f:?}");
    assert!(
        found
            .iter()
            .any(|f| f.node == "an" && f.what.contains("client certificate of postgres")),
        "{found:#?}"
    );
    let ca_before = read(&dir_for(&path).join("ca.crt"));

    plan.auth
        .certificate
        .get_or_insert_with(Default::default)
        .validity_days = 825;
    let path = write_plan(work.path(), &plan);
    let renewed = apply(&["--renew-certificates"]);
    let text = String::from_utf8_lossy(&renewed.stderr).to_string();
    assert_success(&renewed);
    assert!(
        text.contains("renewing certificates: the old ones are kept in"),
        "{text}"
    );
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !found.iter().any(|f| f.code.starts_with("certificate_")),
        "{found:#?}"
    );
    assert!(
        !found.iter().any(|f| f.code.starts_with("access_node_")),
        "the new certificates work: {found:#?}"
    );
    assert_eq!(
        read(&dir_for(&path).join("ca.crt")),
        ca_before,
        "the same CA"
    );
    let aside: Vec<_> = std::fs::read_dir(dir_for(&path))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("renewed-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old certificates are kept");
    assert!(aside[0].path().join("server-dn1.crt").is_file());
    // The servers present the new certificates now, not only hold them on disk.
    for node in [&an, &dn] {
        let on_disk = read(&node.cluster.data_dir().join("server.crt"));
        assert_eq!(
            presented_certificate(node.cluster.port),
            on_disk.trim(),
            "{} presents the reissued certificate",
            node.cluster.name
        );
    }
}

/// The certificate a server presents (PEM), read by openssl s_client.
fn presented_certificate(port: u16) -> String {
    let out = std::process::Command::new("openssl")
        .args(["s_client", "-starttls", "postgres", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let begin = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text.find("-----END CERTIFICATE-----").expect("its end")
        + "-----END CERTIFICATE-----".len();
    text[begin..end].to_string()
}

/// Whether `pem` verifies against the CA certificate `ca` (openssl verify).
fn verifies(pem: &str, ca: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (c, a) = (dir.path().join("c.pem"), dir.path().join("ca.pem"));
    std::fs::write(&c, format!("{pem}\n")).unwrap();
    std::fs::write(&a, ca).unwrap();
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&a)
        .arg(&c)
        .output()
        .expect("openssl verify")
        .status
        .success()
}

/// `tsmn apply --roll-ca` on a running cluster (TimescaleDB tier): a new
/// CA, trusted beside the old one first (the access node before anything
/// else), every certificate issued anew from it and in use, the cluster
/// verified, then the old CA gone from every node and the cluster verified
/// again; a distributed hypertable keeps its rows, a re-run changes nothing.
#[test]
fn a_ca_rolled_over_leaves_every_node_on_the_new_ca_and_loses_no_row() {
    use std::time::Duration;
    if !timescaledb_tier("a_ca_rolled_over_leaves_every_node_on_the_new_ca_and_loses_no_row") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        tsmn::plan::AuthMode::Certificate,
    );
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-03");
    let rows = count(&an);
    let old_ca = read(&dir_for(&path).join("ca.crt"));

    let (code, text) = apply_file(&path, &["--roll-ca"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("rolling the CA over: the old CA and certificates are kept in"),
        "{text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
    };
    assert!(at("an/auth/root.crt: done") < at("an/auth/tls-reload-trust: done"));
    assert!(at("an/auth/tls-reload-trust: done") < at("dn1/auth/server.crt: done"));
    assert!(at("dn1/auth/tls-reload: done") < at("an/auth/server.crt: done"));
    assert!(at("an/verify/ping-dn2: verified") < at("dn1/verify/root.crt-new-ca: done"));
    assert!(at("an/verify/root.crt-new-ca: done") < at("an/verify/ping-dn2-new-ca-only: verified"));

    let new_ca = read(&dir_for(&path).join("ca.crt"));
    assert_ne!(new_ca, old_ca, "a new CA");
    let rolled: Vec<_> = std::fs::read_dir(dir_for(&path))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("rolled-"))
        .collect();
    assert_eq!(rolled.len(), 1);
    assert_eq!(
        read(&rolled[0].path().join("ca.crt")),
        old_ca,
        "the old CA is kept"
    );
    for node in std::iter::once(&an).chain(&dns) {
        let name = &node.cluster.name;
        assert_eq!(
            read(&node.cluster.data_dir().join("root.crt")),
            new_ca,
            "{name} trusts the new CA only"
        );
        let presented = presented_certificate(node.cluster.port);
        assert!(
            verifies(&presented, &new_ca),
            "{name} presents a certificate of the new CA"
        );
        assert!(
            !verifies(&presented, &old_ca),
            "{name}: not one of the old CA"
        );
    }
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !found.iter().any(|f| f.code.starts_with("certificate_")
            || f.code.starts_with("access_node_")
            || f.code == "tls_files_not_loaded"),
        "{found:#?}"
    );
    assert_eq!(count(&an), rows, "nothing lost");
    let (code, again) = apply_file(&path, &[], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("nothing changed"), "{again}");
}

/// A data node or role taken out of the plan: its certificate and key are
/// kept in `removed/` beside the plan, no longer in use; the others stay.
#[test]
fn the_certificates_of_a_removed_node_or_role_are_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = cert_plan("10.0.0.11");
    plan.data_nodes.push(tsmn::plan::Node {
        name: "dn2".into(),
        ..plan.data_nodes[0].clone()
    });
    let m = load_or_create(&plan, dir.path()).unwrap();
    let dn1 = m.servers["dn1"].0.clone();
    plan.data_nodes.pop();
    plan.auth.roles.retain(|r| r != "testrole");
    let m = load_or_create(&plan, dir.path()).unwrap();
    assert_eq!(m.servers["dn1"].0, dn1, "dn1 keeps its certificate");
    let gone = format!("client-{}", cert_file_stem("testrole"));
    for f in [
        "server-dn2.crt",
        "server-dn2.key",
        &format!("{gone}.crt"),
        &format!("{gone}.key"),
    ] {
        assert!(!dir.path().join(f).exists(), "{f} is set aside");
        assert!(dir.path().join("removed").join(f).is_file(), "{f} is kept");
    }
}

/// What a run killed while writing its material used to leave: an empty
/// server certificate, an empty CA. tsmn does not reuse either: the bad
/// file is set aside (with the CA, everything it signed) and made anew;
/// openssl verifies the new certificate against the new CA. Read only
/// (preview's path), it names the file instead.
#[test]
fn empty_or_mismatched_material_is_made_anew_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = cert_plan("127.0.0.1");
    let first = load_or_create(&plan, dir.path()).unwrap();
    let crt = dir.path().join("server-dn1.crt");
    std::fs::write(&crt, "").unwrap();
    let err = tsmn::steps::material::load_or_describe(&plan, dir.path()).unwrap_err();
    assert!(err.to_string().contains("server-dn1.crt"), "{err}");
    let m = load_or_create(&plan, dir.path()).unwrap();
    assert_ne!(m.servers["dn1"].0, first.servers["dn1"].0);
    assert_eq!(m.ca_cert, first.ca_cert, "the CA stays");
    assert_eq!(m.servers["an"], first.servers["an"], "the others stay");
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("broken-"))
        .expect("set aside");
    assert!(aside.path().join("server-dn1.crt").is_file());
    // Another key beside a certificate: not a pair.
    std::fs::copy(
        dir.path().join("server-an.key"),
        dir.path().join("server-dn1.key"),
    )
    .unwrap();
    let m2 = load_or_create(&plan, dir.path()).unwrap();
    assert_ne!(m2.servers["dn1"].1, m.servers["dn1"].1);
    // An empty CA: everything is made anew from a new CA.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(dir.path().join("ca.crt"), "").unwrap();
    let m3 = load_or_create(&plan, dir.path()).unwrap();
    assert_ne!(m3.ca_cert, first.ca_cert);
    let ca = dir.path().join("ca.crt");
    for leaf in ["server-an.crt", "server-dn1.crt"] {
        openssl(&[
            "verify",
            "-CAfile",
            &ca.to_string_lossy(),
            &dir.path().join(leaf).to_string_lossy(),
        ]);
    }
    // Nothing half-written is left behind.
    assert!(!std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".tmp-")));
}
