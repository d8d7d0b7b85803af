//! Tests of the state directory: round trips, modes, the lock, formats.

use super::*;

#[test]
fn state_round_trips_and_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    assert!(!sd.exists());
    assert_eq!(sd.load().unwrap(), State::default());
    sd.create().unwrap();
    let mut st = State {
        lab: "smoke".into(),
        ..Default::default()
    };
    st.nodes.insert(
        "node1".into(),
        NodeState {
            domain: "lab-smoke-node1".into(),
            ..Default::default()
        },
    );
    sd.save(&st).unwrap();
    assert_eq!(sd.load().unwrap(), st);
    let mode = std::fs::metadata(sd.file(STATE_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dmode = std::fs::metadata(sd.path()).unwrap().permissions().mode();
    assert_eq!(dmode & 0o777, 0o700);
}

#[test]
fn second_lock_is_refused_with_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    let _held = sd.lock("smoke").unwrap();
    let msg = sd.lock("smoke").unwrap_err().to_string();
    assert!(msg.contains("lab smoke is busy"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
}

#[test]
fn lock_is_released_on_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    drop(sd.lock("x").unwrap());
    sd.lock("x").unwrap();
}

#[test]
fn formats_older_are_read_newer_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    std::fs::write(sd.file(STATE_FILE), r#"{"lab":"x","uri":"u","pool":"p","network":null,"accel":"tcg","accel_reason":null,"nodes":{}}"#).unwrap();
    let st = sd.load().unwrap();
    assert_eq!(
        (st.format, st.instance.as_str(), st.accel),
        (1, "", Some(crate::backend::Accel::Tcg))
    );
    std::fs::write(sd.file(STATE_FILE), r#"{"format":3,"lab":"x","uri":"u","pool":"p","network":null,"accel":null,"accel_reason":null,"nodes":{}}"#).unwrap();
    let msg = sd.load().unwrap_err().to_string();
    assert!(
        msg.contains("written by a newer lab (state format 3; this lab reads formats up to 2)"),
        "{msg}"
    );
    std::fs::write(sd.file(STATE_FILE), r#"{"lab":"x","uri":"u","pool":"p","network":null,"accel":"arm","accel_reason":null,"nodes":{}}"#).unwrap();
    assert!(sd.load().unwrap_err().to_string().contains("damaged"));
}

#[test]
fn instance_ids_are_random_hex() {
    let (a, b) = (State::new_instance_id(), State::new_instance_id());
    assert_eq!(a.len(), 12);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[test]
fn damaged_state_is_an_error_not_a_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    std::fs::write(sd.file(STATE_FILE), "{not json").unwrap();
    assert!(sd.load().unwrap_err().to_string().contains("damaged"));
}

#[test]
fn oversized_or_deep_state_is_refused_with_a_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    let path = sd.file(STATE_FILE);
    std::fs::write(&path, format!("{{\"lab\": \"{}\"}}", "x".repeat(2 << 20))).unwrap();
    let msg = format!("{:#}", sd.load().unwrap_err());
    assert!(
        msg.starts_with(&format!(
            "{} is 2097163 bytes, more than the 1 MiB",
            path.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("move it away"), "{msg}");
    std::fs::write(&path, format!("{{\"x\": {}", "[".repeat(100_000))).unwrap();
    let msg = format!("{:#}", sd.load().unwrap_err());
    assert!(msg.contains("is damaged; remove it only after"), "{msg}");
    assert!(
        msg.contains("EOF while parsing a list at line 1 column 100006"),
        "{msg}"
    );
    // Deep values under keys lab does not know are skipped without
    // recursion (serde_json's IgnoredAny): the next problem is found.
    std::fs::write(
        &path,
        format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let msg = format!("{:#}", sd.load().unwrap_err());
    assert!(
        msg.contains("missing field `lab` at line 1 column 200007"),
        "{msg}"
    );
}
