//! The commented example plans in assets/ load, and survive a save/load round trip.

use tsmn::plan::{load_plan, parse_plan, plan_to_toml, AuthMode};

fn check(file: &str, mode: AuthMode) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(file);
    let plan = load_plan(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(plan.auth.mode, mode);
    assert_eq!(plan.data_nodes.len(), 2);
    let saved = plan_to_toml(&plan);
    let again =
        parse_plan(&saved, file).unwrap_or_else(|e| panic!("{file} after saving: {e}\n{saved}"));
    assert_eq!(again, plan, "{file} changed in a save/load round trip");
    assert_eq!(
        plan_to_toml(&again),
        saved,
        "saving twice gives the same text"
    );
}

#[test]
fn trust_example() {
    check("plan-trust.toml", AuthMode::Trust);
}

#[test]
fn password_example() {
    check("plan-password.toml", AuthMode::Password);
}

#[test]
fn certificate_example() {
    check("plan-certificate.toml", AuthMode::Certificate);
}
