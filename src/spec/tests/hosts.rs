//! Tests of `hosts` and each node's `host`.

use super::*;

const TWO_NODES: &str = "  node1: {ip: 10.77.10.21}\n  node2: {ip: 10.77.10.22}\n";

#[test]
fn a_lab_without_hosts_runs_here() {
    let lab = ok(&lab_src("", TWO_NODES));
    assert!(lab.hosts.is_empty());
    assert_eq!(lab.host(), None);
    assert!(lab.nodes.iter().all(|n| n.host.is_none()));
    assert_eq!(lab.uri_in_file(), None);
}

#[test]
fn the_only_host_is_every_nodes_host_and_its_uri_the_labs() {
    let lab = ok(&lab_src(
        "hosts:\n  b: {uri: qemu+ssh://root@lab-host-b/system}\n",
        TWO_NODES,
    ));
    assert!(lab.nodes.iter().all(|n| n.host.as_deref() == Some("b")));
    let host = lab.host().unwrap();
    assert_eq!(host.name, "b");
    assert_eq!(lab.uri_in_file(), Some("qemu+ssh://root@lab-host-b/system"));
    assert_eq!(
        host.ssh.as_ref().map(ToString::to_string).as_deref(),
        Some("root@lab-host-b"),
        "the login defaults to the URI's"
    );
}

#[test]
fn ssh_beats_the_uris_login_and_this_machine_has_none() {
    let lab = ok(&lab_src(
        "hosts:\n  b: {uri: 'qemu+ssh://root@b/system', ssh: ops@10.0.0.2}\n  here: {uri: 'qemu:///system'}\n",
        "  node1: {ip: 10.77.10.21, host: b}\n  node2: {ip: 10.77.10.22, host: b}\n",
    ));
    assert_eq!(
        lab.host().unwrap().ssh.as_ref().unwrap().to_string(),
        "ops@10.0.0.2"
    );
    assert_eq!(lab.hosts[1].ssh, None);
    let tls = ok(&lab_src(
        "hosts:\n  b: {uri: 'qemu+tls://b/system', ssh: root@b}\n",
        ONE_NODE,
    ));
    assert_eq!(tls.host().unwrap().ssh.as_ref().unwrap().address, "b");
}

#[test]
fn every_bad_host_is_reported_at_its_field() {
    let errs = errors(&lab_src(
        "hosts:\n  Big: {uri: 'qemu:///system'}\n  x: {uri: nonsense}\n  y: {uri: 'qemu+ssh://y/system'}\n  z: {uri: 'qemu:///system', ssh: 'root@-x'}\n",
        "  node1: {ip: 10.77.10.21, host: x}\n",
    ));
    assert_eq!(errs.len(), 4, "{errs:#?}");
    find(&errs, "hosts.Big", "the host name \"Big\"");
    find(&errs, "hosts.x.uri", "is not a libvirt URI");
    find(&errs, "hosts.y.ssh", "names no user");
    find(&errs, "hosts.z.ssh", "the SSH login \"root@-x\"");
}

#[test]
fn a_node_names_a_host_of_the_file() {
    let hosts = "hosts:\n  big: {uri: 'qemu:///system'}\n  small: {uri: 'qemu:///session'}\n";
    let errs = errors(&lab_src(
        hosts,
        "  node1: {ip: 10.77.10.21, host: bi}\n  node2: {ip: 10.77.10.22}\n",
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let unknown = find(&errs, "nodes.node1.host", "unknown host `bi`");
    assert!(unknown.hint().unwrap().contains("did you mean `big`?"));
    find(
        &errs,
        "nodes.node2",
        "names no host, and the lab has 2 hosts",
    );
    find(
        &errors(&lab_src("", "  node1: {ip: 10.77.10.21, host: big}\n")),
        "nodes.node1.host",
        "the lab file has no `hosts`",
    );
}

#[test]
fn nodes_on_several_hosts_make_the_first_nodes_host_primary() {
    let hosts = "hosts:\n  a: {uri: 'qemu:///system'}\n  b: {uri: 'qemu+ssh://root@b/system', address: 10.254.0.2}\n";
    let lab = ok(&lab_src(
        hosts,
        "  node1: {ip: 10.77.10.21, host: b}\n  node2: {ip: 10.77.10.22, host: a}\n  node3: {ip: 10.77.10.23, host: b}\n",
    ));
    assert_eq!(lab.host().unwrap().name, "b", "the first node's host");
    let used: Vec<&str> = lab.used_hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(used, ["b", "a"]);
    assert!(lab.multi_host());
    assert_eq!(lab.uri_in_file(), Some("qemu+ssh://root@b/system"));
    assert_eq!(lab.hosts[1].address, Some("10.254.0.2".parse().unwrap()));
    assert_eq!(lab.hosts[0].address, None);
    let one = ok(&lab_src(hosts, "  node1: {ip: 10.77.10.21, host: a}\n"));
    assert!(!one.multi_host());
}

#[test]
fn a_bad_tunnel_address_is_reported_at_its_field() {
    let errs = errors(&lab_src(
        "hosts:\n  a: {uri: 'qemu:///system', address: 10.254.0.300}\n  b: {uri: 'qemu:///system', address: 0.0.0.0}\n  c: {uri: 'qemu:///system', address: server-c}\n",
        "  node1: {ip: 10.77.10.21, host: a}\n  node2: {ip: 10.77.10.22, host: b}\n  node3: {ip: 10.77.10.23, host: c}\n",
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    let e = find(
        &errs,
        "hosts.a.address",
        "\"10.254.0.300\" is not a unicast IPv4 address",
    );
    assert!(e.hint().unwrap().contains("on the link to the other hosts"));
    find(
        &errs,
        "hosts.b.address",
        "\"0.0.0.0\" is not a unicast IPv4 address",
    );
    find(
        &errs,
        "hosts.c.address",
        "\"server-c\" is not a unicast IPv4 address",
    );
}

#[test]
fn a_lab_names_its_uri_once() {
    let hosts = "hosts:\n  a: {uri: 'qemu:///system'}\n  b: {uri: 'qemu+ssh://root@b/system'}\n";
    let errs = errors(&lab_src(
        &format!("libvirt_uri: qemu:///system\n{hosts}"),
        "  node1: {ip: 10.77.10.21, host: a}\n",
    ));
    find(
        &errs,
        "libvirt_uri",
        "`libvirt_uri` and `hosts` are both set",
    );
}
