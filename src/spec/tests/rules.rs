//! Tests of the value rules: names, sizes, network and addresses, boxes,
//! roles, proxy and libvirt URI.

use super::*;

fn node_with(line: &str) -> String {
    lab_src("", &format!("  node1:\n    ip: 10.77.10.21\n    {line}\n"))
}

#[test]
fn lab_name_must_be_a_dns_label() {
    for bad in ["Smoke", "-smoke", "smoke-", "smo_ke", "a.b"] {
        let src = lab_src("", ONE_NODE).replace("name: t", &format!("name: {bad}"));
        find(&errors(&src), "name", "the lab name");
    }
    let long = "a".repeat(64);
    find(
        &errors(&lab_src("", ONE_NODE).replace("name: t", &format!("name: {long}"))),
        "name",
        "at most 63",
    );
    ok(&lab_src("", ONE_NODE).replace("name: t", &format!("name: {}", "a".repeat(63))));
}

#[test]
fn node_names_must_be_dns_labels_and_not_host() {
    let errs = errors(&lab_src(
        "",
        "  Node1: {ip: 10.77.10.21}\n  db-: {ip: 10.77.10.22}\n  host: {ip: 10.77.10.23}\n",
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    find(&errs, "nodes.Node1", "the node name \"Node1\"");
    find(&errs, "nodes.db-", "starts or ends with '-'");
    find(&errs, "nodes.host", "`host` cannot be a node name");
}

#[test]
fn sizes_must_be_in_range() {
    for (line, field, ok_line) in [
        ("cpus: 0", "cpus", "cpus: 16"),
        ("cpus: 17", "cpus", "cpus: 1"),
        ("memory: 255", "memory", "memory: 256"),
        ("memory: 65537", "memory", "memory: 65536"),
        ("disk: 1", "disk", "disk: 2"),
        ("disk: 1025", "disk", "disk: 1024"),
        ("cpus: -3", "cpus", "cpus: 8"),
        ("memory: 99999999999999999999999", "memory", "memory: 4096"),
    ] {
        find(
            &errors(&node_with(line)),
            &format!("nodes.node1.{field}"),
            "is out of range",
        );
        ok(&node_with(ok_line));
    }
}

#[test]
fn defaults_are_range_checked_and_used() {
    let errs = errors(&lab_src(
        "defaults: {cpus: 99, memory: 100, disk: 0}\n",
        ONE_NODE,
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    find(&errs, "defaults.cpus", "cpus must be between 1 and 16");
    find(&errs, "defaults.memory", "between 256 and 65536 MiB");
    find(&errs, "defaults.disk", "between 2 and 1024 GiB");
    let lab = ok(&lab_src(
        "defaults: {cpus: 4, memory: 512, disk: 20}\n",
        ONE_NODE,
    ));
    let n = &lab.nodes[0];
    assert_eq!((n.cpus, n.memory_mib, n.disk_gib), (4, 512, 20));
}

#[test]
fn subnet_must_be_ipv4_cidr_with_prefix_16_to_29() {
    let with_subnet = |s: &str| lab_src("", ONE_NODE).replace("10.77.10.0/24", s);
    for (subnet, needle) in [
        ("10.77.10.0", "not an IPv4 subnet"),
        ("fd00::/64", "not an IPv4 subnet"),
        ("banana", "not an IPv4 subnet"),
        ("10.77.0.0/15", "prefix length /15 is out of range"),
        ("10.77.10.0/30", "prefix length /30 is out of range"),
        ("10.77.10.5/24", "has host bits set"),
    ] {
        find(&errors(&with_subnet(subnet)), "network.subnet", needle);
    }
    assert!(
        errors(&with_subnet("10.77.10.0"))
            .iter()
            .any(|e| e.hint() == Some("add the prefix length, e.g. 10.77.10.0/24"))
    );
    let lab =
        ok(&lab_src("", "  node1: {ip: 10.77.3.4}\n").replace("10.77.10.0/24", "10.77.0.0/16"));
    assert_eq!(lab.network.gateway.to_string(), "10.77.0.1");
    ok(&lab_src("", "  node1: {ip: 10.77.10.2}\n").replace("10.77.10.0/24", "10.77.10.0/29"));
}

#[test]
fn domain_must_be_dns_labels() {
    let src = lab_src("", ONE_NODE).replace(
        "  subnet: 10.77.10.0/24\n",
        "  subnet: 10.77.10.0/24\n  domain: lab..local\n",
    );
    find(&errors(&src), "network.domain", "the domain \"lab..local\"");
    let src = lab_src("", ONE_NODE).replace(
        "  subnet: 10.77.10.0/24\n",
        "  subnet: 10.77.10.0/24\n  domain: Lab.local\n",
    );
    find(&errors(&src), "network.domain", "contains 'L'");
}

#[test]
fn node_addresses_must_be_usable_addresses_of_the_subnet() {
    for (ip, needle) in [
        ("10.77.11.21", "is outside the lab subnet 10.77.10.0/24"),
        ("10.77.10.0", "is the network address"),
        ("10.77.10.1", "is the gateway"),
        ("10.77.10.255", "is the broadcast address"),
        ("10.77.10.256", "is not an IPv4 address"),
        ("10.77.10.21/24", "is not an IPv4 address"),
        ("node1.lab", "is not an IPv4 address"),
    ] {
        let errs = errors(&lab_src("", &format!("  node1: {{ip: {ip}}}\n")));
        find(&errs, "nodes.node1.ip", needle);
    }
    ok(&lab_src(
        "",
        "  node1: {ip: 10.77.10.2}\n  node2: {ip: 10.77.10.254}\n",
    ));
}

#[test]
fn node_addresses_must_be_unique() {
    let errs = errors(&lab_src(
        "",
        "  node1: {ip: 10.77.10.21}\n  node2: {ip: 10.77.10.22}\n  node3: {ip: 10.77.10.21}\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = find(
        &errs,
        "nodes.node3.ip",
        "10.77.10.21 is already used by node `node1`",
    );
    assert_eq!(e.line_col(), (8, 15), "reported at the second use");
}

#[test]
fn boxes_must_be_known() {
    let src = lab_src(
        "",
        "  node1: {ip: 10.77.10.21, box: centos-7}\n  node2: {ip: 10.77.10.22, box: ubuntu-24.04}\n",
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    find(&errs, "nodes.node1.box", "unknown box `centos-7`");
    let top = errors(&lab_src("", ONE_NODE).replace("box: debian-12", "box: debian-13"));
    let e = find(&top, "box", "unknown box `debian-13`");
    assert!(
        e.hint().unwrap().starts_with("did you mean `debian-12`?"),
        "{e:?}"
    );
    let path = errors(&lab_src("", "  node1: {ip: 10.77.10.21, box: ../../etc}\n"));
    find(&path, "nodes.node1.box", "contains '/'");
    let any = parse_str(
        &lab_src("", ONE_NODE).replace("debian-12", "whatever"),
        "lab.yaml",
        &Context::any_box(),
    );
    assert!(any.is_ok());
}

#[test]
fn boxes_are_found_on_disk() {
    let recipes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(recipes.path().join("alpha")).unwrap();
    std::fs::write(recipes.path().join("alpha/box.yaml"), "").unwrap();
    std::fs::create_dir_all(store.path().join("beta")).unwrap();
    std::fs::write(store.path().join("beta/box.json"), "{}").unwrap();
    std::fs::create_dir_all(store.path().join("gamma")).unwrap();
    let boxes = KnownBoxes::OnDisk {
        recipe_dirs: vec![crate::paths::RecipeDir::Dir(recipes.path().into())],
        store: store.path().into(),
    };
    assert!(boxes.contains("alpha"));
    assert!(boxes.contains("beta"));
    assert!(
        !boxes.contains("gamma"),
        "a store directory without box.json is not a box"
    );
    assert_eq!(
        boxes.names().into_iter().collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
}

#[test]
fn roles_must_be_names_distinct_from_nodes_and_unique() {
    let errs = errors(&lab_src(
        "",
        "  node1:\n    ip: 10.77.10.21\n    roles: [app, App, node2, app]\n  node2: {ip: 10.77.10.22}\n",
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    find(&errs, "nodes.node1.roles[1]", "the role name \"App\"");
    find(
        &errs,
        "nodes.node1.roles[2]",
        "role `node2` has the same name as a node",
    );
    find(&errs, "nodes.node1.roles[3]", "role `app` is listed twice");
    ok(&lab_src(
        "",
        "  node1:\n    ip: 10.77.10.21\n    roles: [db_primary, app-1]\n",
    ));
}

#[test]
fn proxy_must_be_an_http_url() {
    let lab = ok(&lab_src("proxy: http://10.0.0.5:3128\n", ONE_NODE));
    assert_eq!(
        lab.proxy.unwrap().url_for(lab.network.gateway),
        "http://10.0.0.5:3128"
    );
    for bad in [
        "https://gateway:8888",
        "gateway:8888",
        "http://gateway",
        "http://gateway:http",
    ] {
        find(
            &errors(&lab_src(&format!("proxy: {bad}\n"), ONE_NODE)),
            "proxy",
            "the proxy URL",
        );
    }
}

#[test]
fn libvirt_uri_must_look_like_a_uri() {
    find(
        &errors(&lab_src("libvirt_uri: system\n", ONE_NODE)),
        "libvirt_uri",
        "is not a libvirt URI",
    );
    ok(&lab_src("libvirt_uri: qemu+ssh://host/system\n", ONE_NODE));
}
