//! Unit tests of the lab file rules: helpers here, one file per area.

mod bounds;
mod clipping;
mod extras;
mod files;
mod hosts;
mod links;
mod provision;
mod rules;
mod structure;

use super::*;

/// Boxes the tests may use.
pub(super) fn ctx() -> Context {
    Context::with_boxes(["debian-12", "ubuntu-24.04"])
}

/// A valid lab with `extra` top-level lines and the given `nodes:` body.
pub(super) fn lab_src(extra: &str, nodes: &str) -> String {
    format!("name: t\nbox: debian-12\nnetwork:\n  subnet: 10.77.10.0/24\n{extra}nodes:\n{nodes}")
}

pub(super) const ONE_NODE: &str = "  node1:\n    ip: 10.77.10.21\n";

pub(super) fn ok(src: &str) -> Lab {
    match parse_str(src, "lab.yaml", &ctx()) {
        Ok(lab) => lab,
        Err(err) => panic!("expected a valid lab, got:\n{}", err.render(false)),
    }
}

/// The diagnostics for `src`, which must be invalid.
pub(super) fn errors(src: &str) -> Vec<SpecDiagnostic> {
    match parse_str(src, "lab.yaml", &ctx()) {
        Ok(lab) => panic!("expected errors, got a valid lab: {lab:?}"),
        Err(err) => err.diagnostics().to_vec(),
    }
}

/// Asserts one diagnostic has `field` and a message containing `needle`;
/// returns it.
pub(super) fn find<'a>(
    errs: &'a [SpecDiagnostic],
    field: &str,
    needle: &str,
) -> &'a SpecDiagnostic {
    errs.iter()
        .find(|e| e.field() == field && e.message().contains(needle))
        .unwrap_or_else(|| panic!("no error at {field:?} containing {needle:?} in:\n{errs:#?}"))
}

#[test]
fn valid_lab_becomes_the_model_with_defaults() {
    let src = "\
name: smoke
box: debian-12
accel: tcg
libvirt_uri: qemu:///session
network:
  subnet: 10.77.10.0/24
  domain: smoke.lab
proxy: http://gateway:8888
defaults:
  memory: 2048
nodes:
  web:
    ip: 10.77.10.30
    cpus: 2
    roles: [app, front]
  db:
    ip: 10.77.10.20
    box: ubuntu-24.04
    disk: 40
    roles: [data]
";
    let lab = ok(src);
    assert_eq!(lab.name, "smoke");
    assert_eq!(lab.box_name, "debian-12");
    assert_eq!(lab.accel, Accel::Tcg);
    assert_eq!(lab.libvirt_uri.as_deref(), Some("qemu:///session"));
    assert_eq!(lab.network.subnet.to_string(), "10.77.10.0/24");
    assert_eq!(lab.network.gateway.to_string(), "10.77.10.1");
    assert_eq!(lab.network.domain.as_deref(), Some("smoke.lab"));
    assert_eq!(
        lab.proxy.as_ref().unwrap().url_for(lab.network.gateway),
        "http://10.77.10.1:8888"
    );
    let names: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["web", "db"], "file order is kept");
    let web = lab.node("web").unwrap();
    assert_eq!(
        (web.cpus, web.memory_mib, web.disk_gib),
        (2, 2048, DEFAULT_DISK_GIB)
    );
    assert_eq!(web.box_name, "debian-12");
    assert_eq!(web.roles, ["app", "front"]);
    let db = lab.node("db").unwrap();
    assert_eq!(
        (db.cpus, db.memory_mib, db.disk_gib),
        (DEFAULT_CPUS, 2048, 40)
    );
    assert_eq!(db.box_name, "ubuntu-24.04");
    assert_eq!(
        lab.nodes_with_role("data")
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>(),
        ["db"]
    );
    assert_eq!(lab.provision, None);
    assert_eq!(lab.path, std::path::PathBuf::from("lab.yaml"));
    assert_eq!(lab.dir(), std::path::Path::new("."));
}

#[test]
fn built_in_defaults_apply_without_a_defaults_section() {
    let lab = ok(&lab_src("", ONE_NODE));
    let n = &lab.nodes[0];
    assert_eq!((n.cpus, n.memory_mib, n.disk_gib), (1, 1024, 10));
    assert_eq!(lab.accel, Accel::Auto);
    assert_eq!(lab.proxy, None);
}

#[test]
fn null_optional_values_count_as_absent() {
    let lab = ok(&lab_src(
        "proxy:\ndefaults:\nprovision: ~\n",
        "  node1:\n    ip: 10.77.10.21\n    roles:\n",
    ));
    assert_eq!(lab.proxy, None);
    assert_eq!(lab.provision, None);
}

#[test]
fn anchors_and_aliases_are_followed() {
    let src = lab_src(
        "defaults: &size {cpus: 2}\n",
        "  node1:\n    ip: 10.77.10.21\n    roles: &r [app]\n  node2:\n    ip: 10.77.10.22\n    roles: *r\n",
    );
    let lab = ok(&src);
    assert_eq!(lab.nodes[1].roles, ["app"]);
    assert_eq!(lab.nodes[1].cpus, 2);
}

#[test]
fn the_smoke_lab_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    let lab = load_with(&path, &ctx()).unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(lab.name, "smoke");
    assert_eq!(lab.nodes.len(), 2);
    assert_eq!(lab.dir(), path.parent().unwrap());
}

#[test]
fn unreadable_file_is_a_plain_error_naming_the_path() {
    let err = load_with(std::path::Path::new("/nonexistent/lab.yaml"), &ctx()).unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/lab.yaml"), "{err}");
    assert!(
        std::error::Error::source(&err).is_none(),
        "the reason is said once"
    );
    assert!(err.diagnostics().is_empty());
}

#[test]
fn oversized_file_is_one_diagnostic_naming_size_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, format!("name: t\n# {}\n", "x".repeat(1 << 20))).unwrap();
    let err = load_with(&path, &ctx()).unwrap_err();
    let [diag] = err.diagnostics() else {
        panic!("{}", err.render(false))
    };
    assert_eq!(
        diag.message(),
        format!(
            "{} is 1048587 bytes, more than the 1 MiB lab reads for lab files; check that -f names a lab file",
            path.display()
        )
    );
}

#[test]
fn error_counts_and_summary() {
    let err = parse_str(
        &lab_src("", "  node1:\n    ip: 10.77.10.1\n    cpus: 99\n"),
        "x.yaml",
        &ctx(),
    )
    .unwrap_err();
    let SpecError::Invalid { count, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*count, 2);
    assert_eq!(err.to_string(), "x.yaml: 2 errors");
    let rendered = err.render(false);
    assert!(rendered.contains("[x.yaml:7:9]"), "{rendered}");
    assert!(
        rendered.contains("nodes.node1.ip: 10.77.10.1 is the gateway"),
        "{rendered}"
    );
}

#[test]
fn schema_lists_the_keys_the_decoder_accepts() {
    let schema = json_schema();
    let props = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let sorted = |k: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let defs = &schema["$defs"];
    assert_eq!(props(&schema), sorted(raw::keys::LAB));
    assert_eq!(
        props(&schema["properties"]["network"]),
        sorted(raw::keys::NETWORK)
    );
    assert_eq!(props(&defs["Defaults"]), sorted(raw::keys::DEFAULTS));
    assert_eq!(props(&defs["Node"]), sorted(raw::keys::NODE));
    assert_eq!(props(&defs["ScriptStep"]), sorted(raw::keys::STEP));
    assert_eq!(props(&defs["Check"]), sorted(raw::keys::CHECK));
    assert_eq!(props(&defs["Forward"]), sorted(raw::keys::FORWARD));
    assert_eq!(props(&defs["Link"]), sorted(raw::keys::LINK));
    assert_eq!(defs["Link"]["required"], serde_json::json!(["name", "url"]));
    assert_eq!(defs["Check"]["required"], serde_json::json!(["name", "on"]));
    assert_eq!(
        defs["Forward"]["required"],
        serde_json::json!(["node", "guest", "host"])
    );
    let variants = defs["Provision"]["oneOf"].as_array().unwrap();
    let mut ansible = raw::keys::ANSIBLE.to_vec();
    ansible.push("type");
    let mut shell = raw::keys::SHELL.to_vec();
    shell.push("type");
    assert_eq!(props(&variants[0]), sorted(&ansible));
    assert_eq!(props(&variants[1]), sorted(&shell));
    assert_eq!(
        schema["required"],
        serde_json::json!(["name", "box", "network", "nodes"])
    );
}
