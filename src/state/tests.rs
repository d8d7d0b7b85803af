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
    std::fs::write(sd.file(STATE_FILE), r#"{"format":4,"lab":"x","uri":"u","pool":"p","network":null,"accel":null,"accel_reason":null,"nodes":{}}"#).unwrap();
    let msg = sd.load().unwrap_err().to_string();
    assert!(
        msg.contains("written by a newer lab (state format 4; this lab reads formats up to 3)"),
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

#[test]
fn a_newer_format_is_named_before_its_fields_are_parsed() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    // A newer lab may add values this one cannot read ("hvf").
    std::fs::write(sd.file(STATE_FILE), r#"{"format":4,"lab":"x","uri":"u","pool":"p","network":null,"accel":"hvf","accel_reason":null,"nodes":{},"new_field":[1]}"#).unwrap();
    assert_eq!(
        sd.load().unwrap_err().to_string(),
        format!(
            "{} was written by a newer lab (state format 4; this lab reads formats up to 3); use that version of lab, or upgrade this one",
            sd.file(STATE_FILE).display()
        )
    );
    std::fs::write(sd.file(STATE_FILE), r#"{"format":"two"}"#).unwrap();
    assert!(sd.load().unwrap_err().to_string().contains("is damaged"));
}

/// A state of one node `node1` whose `field` is `value` (JSON).
fn state_with(field: &str, value: serde_json::Value) -> (tempfile::TempDir, StateDir) {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    let mut node = serde_json::json!({
        "domain": "smoke.node1", "ip": "10.77.10.21", "mac": "52:54:00:12:34:56",
        "user": "lab", "box_name": "debian-12", "volumes": [], "ready": true,
        "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxh", "boot_seconds": null, "ready_seconds": null
    });
    node[field] = value;
    let st = serde_json::json!({
        "format": 2, "lab": "smoke", "instance": "0a1b2c3d4e5f", "file": "", "uri": "test:///default",
        "pool": "lab", "network": null, "accel": null, "accel_reason": null, "nodes": {"node1": node}
    });
    std::fs::write(sd.file(STATE_FILE), st.to_string()).unwrap();
    (tmp, sd)
}

#[test]
fn values_lab_never_writes_are_refused_when_the_state_is_read() {
    let (_tmp, sd) = state_with("user", "lab".into());
    assert_eq!(sd.load().unwrap().nodes["node1"].user, "lab");
    let (_tmp, sd) = state_with("jump", "root@lab-host-b".into());
    let jump = sd.load().unwrap().nodes["node1"].jump.clone();
    assert_eq!(jump.as_deref(), Some("root@lab-host-b"));
    let cases = [
        (
            "user",
            "-oProxyCommand=touch /tmp/pwned",
            "`nodes.node1.user` is \"-oProxyCommand=touch /tmp/pwned\", which starts with '-'; a login name starts with a lowercase letter or '_'",
        ),
        (
            "user",
            "lab\nProxyCommand touch x",
            "`nodes.node1.user` is \"lab\\nProxyCommand touch x\", which contains '\\n'",
        ),
        (
            "ip",
            "10.0.0.1 -oProxyCommand=x",
            "`nodes.node1.ip` is \"10.0.0.1 -oProxyCommand=x\", which is not an IPv4 address",
        ),
        (
            "mac",
            "52:54:00:12:34",
            "`nodes.node1.mac` is \"52:54:00:12:34\", which is not a MAC address",
        ),
        (
            "domain",
            "smoke.node1\n",
            "`nodes.node1.domain` is \"smoke.node1\\n\", which has a part \"node1\\n\" that contains '\\n'",
        ),
        (
            "host_key",
            "ssh-ed25519 AAAA\n10.0.0.9 ssh-ed25519 BBBB",
            "`nodes.node1.host_key` is \"ssh-ed25519 AAAA\\n10.0.0.9 ssh-ed25519 BBBB\", which is not a host key",
        ),
        (
            "jump",
            "-oProxyCommand=x@host",
            "`nodes.node1.jump` is \"-oProxyCommand=x@host\", which has the user \"-oProxyCommand=x\" that starts with '-'",
        ),
        (
            "jump",
            "root@host\nProxyCommand x",
            "`nodes.node1.jump` is \"root@host\\nProxyCommand x\", which has the address \"host\\nProxyCommand x\" that has a label",
        ),
        (
            "box_name",
            "../../etc",
            "`nodes.node1.box_name` is \"../../etc\", which contains '/'",
        ),
    ];
    for (field, value, said) in cases {
        let (_tmp, sd) = state_with(field, value.into());
        let msg = sd.load().unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("{}: {said}", sd.file(STATE_FILE).display())),
            "{field}: {msg}"
        );
        assert!(
            msg.ends_with("; lab never writes such a value, so the file was changed by hand: put back the value lab wrote"),
            "{msg}"
        );
    }
    let long = "x".repeat(10_000);
    let (_tmp, sd) = state_with("user", long.as_str().into());
    let msg = sd.load().unwrap_err().to_string();
    assert!(msg.len() < 400, "the value is clipped: {msg}");
}

#[test]
fn a_state_others_may_change_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, sd) = state_with("user", "lab".into());
    let path = sd.file(STATE_FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        sd.load().unwrap_err().to_string(),
        format!(
            "the lab's state {0} can be changed by other users (mode 0666), so lab will not use it; if nobody else could have changed it, run `chmod 644 {0}`, otherwise compare the nodes, addresses and host keys it records with `virsh list --all` and `virsh domifaddr` before you do",
            path.display()
        )
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    sd.load().unwrap();
}

/// A state with `snapshots` as given.
fn state_with_snapshots(snapshots: serde_json::Value) -> (tempfile::TempDir, StateDir) {
    let (tmp, sd) = state_with("user", "lab".into());
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sd.file(STATE_FILE)).unwrap()).unwrap();
    st["snapshots"] = snapshots;
    std::fs::write(sd.file(STATE_FILE), st.to_string()).unwrap();
    (tmp, sd)
}

fn snapshot(name: &str, status: &str, nodes: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"name": name, "taken": "2026-11-30T03:40:12Z", "status": status, "nodes": nodes})
}

#[test]
fn snapshot_records_lab_never_writes_are_refused() {
    let node = serde_json::json!({"node1": {"box": "debian-12", "cpus": 1, "memory_mib": 1024, "disk_gib": 10, "running": true, "bytes": 5, "ready": true, "provision_pending": false}});
    let (_t, sd) =
        state_with_snapshots(serde_json::json!([snapshot("a", "complete", node.clone())]));
    assert_eq!(sd.load().unwrap().snapshots[0].bytes(), 5);
    // Sizes that would overflow a sum are added saturating, not a panic.
    let mut big = node.clone();
    big["node1"]["bytes"] = u64::MAX.into();
    big["node2"] = node["node1"].clone();
    let (_t, sd) = state_with_snapshots(serde_json::json!([snapshot("a", "complete", big)]));
    assert_eq!(sd.load().unwrap().snapshots[0].bytes(), u64::MAX);
    let cases = [
        (
            serde_json::json!([snapshot("a", "complete", serde_json::json!({}))]),
            "`snapshots[0].nodes` is empty",
        ),
        (
            serde_json::json!([
                snapshot("a", "complete", node.clone()),
                snapshot("a", "complete", node.clone())
            ]),
            "`snapshots[1].name` is \"a\", which names a second whole snapshot",
        ),
        (
            serde_json::json!([snapshot("A b", "complete", node.clone())]),
            "`snapshots[0].name` is \"A b\"",
        ),
        (
            serde_json::json!([snapshot(
                "a",
                "complete",
                serde_json::json!({"n/1": node["node1"]})
            )]),
            "`snapshots[0].nodes` is \"n/1\"",
        ),
    ];
    for (snaps, said) in cases {
        let (_t, sd) = state_with_snapshots(snaps);
        let msg = sd.load().unwrap_err().to_string();
        assert!(msg.contains(said), "{said}: {msg}");
    }
    // One being saved beside a whole one of the same name (a forced save
    // in progress) is fine.
    let (_t, sd) = state_with_snapshots(serde_json::json!([
        snapshot("a", "complete", node.clone()),
        snapshot("a", "saving", node)
    ]));
    assert_eq!(sd.load().unwrap().snapshots.len(), 2);
}

#[test]
fn a_lab_over_several_hosts_is_written_as_format_3_and_one_host_as_2() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    sd.create().unwrap();
    let on_disk = |sd: &StateDir| -> u64 {
        let text = std::fs::read_to_string(sd.file(STATE_FILE)).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["format"]
            .as_u64()
            .unwrap()
    };
    let mut st = State {
        lab: "x".into(),
        ..State::default()
    };
    sd.save(&st).unwrap();
    // A one-host lab stays readable by a lab that knows format 2 only.
    assert_eq!(on_disk(&sd), 2);
    st.vni = Some(4242);
    st.hosts
        .insert("b".into(), crate::state::HostState::default());
    sd.save(&st).unwrap();
    // A lab reading only format 2 would leave the other hosts' networks
    // and VXLAN devices behind: it must refuse this one.
    assert_eq!(on_disk(&sd), 3);
    let back = sd.load().unwrap();
    assert_eq!((back.format, back.vni), (3, Some(4242)));
    // Once destroyed on the other hosts, it is format 2 again.
    st.vni = None;
    st.hosts.clear();
    sd.save(&st).unwrap();
    assert_eq!(on_disk(&sd), 2);
}
