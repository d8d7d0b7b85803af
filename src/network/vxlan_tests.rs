use super::*;

#[test]
fn vni_and_device_are_stable_24_bit_and_short() {
    let vni = vni_for("smoke");
    assert_eq!(vni, vni_for("smoke"));
    assert_ne!(vni, vni_for("smoke2"));
    for lab in ["a", "django-ha", &"x".repeat(300)] {
        let v = vni_for(lab);
        assert!((1..VNI_LIMIT).contains(&v), "{v}");
        let dev = device_name(v);
        assert!(dev.len() <= crate::network::MAX_BRIDGE_LEN, "{dev}");
        check_device(&dev).unwrap();
    }
    assert_eq!(device_name(0xabc), "labvx000abc");
    assert!(check_device("eth0").is_err());
    assert!(check_device("labvx00zz00").is_err());
    assert!(check_device("lab-smoke").is_err());
}

#[test]
fn commands_make_a_device_on_the_bridge_with_a_copy_to_each_peer() {
    let spec = VxlanSpec {
        device: "labvx000abc".into(),
        vni: 0xabc,
        local: "10.254.0.1".parse().unwrap(),
        bridge: "lab-split".into(),
        peers: vec!["10.254.0.2".parse().unwrap(), "10.254.0.3".parse().unwrap()],
        mtu: OVERLAY_MTU,
    };
    let lines: Vec<String> = add_commands(&spec).iter().map(|c| c.join(" ")).collect();
    assert_eq!(
        lines,
        [
            "ip link add labvx000abc type vxlan id 2748 local 10.254.0.1 dstport 4789",
            "ip link set labvx000abc mtu 1450 master lab-split up",
            "bridge fdb append 00:00:00:00:00:00 dev labvx000abc dst 10.254.0.2",
            "bridge fdb append 00:00:00:00:00:00 dev labvx000abc dst 10.254.0.3",
        ]
    );
    assert_eq!(
        del_command("labvx000abc").join(" "),
        "ip link del labvx000abc"
    );
}

#[test]
fn what_ip_and_getent_print_is_read() {
    // iproute2 6.1's `ip -d -j link show type vxlan`, abridged.
    let json = r#"[{"ifindex":7,"ifname":"labvx000abc","flags":["BROADCAST"],"mtu":1450,
        "linkinfo":{"info_kind":"vxlan","info_data":{"id":2748,"local":"10.254.0.1","port":4789}}},
        {"ifindex":8,"ifname":"odd"}]"#;
    assert_eq!(
        parse_links(json).unwrap(),
        [("labvx000abc".to_string(), 2748)]
    );
    assert_eq!(parse_links("").unwrap(), []);
    assert!(parse_links("Object \"link\" is unknown").is_err());
    let getent = "10.254.0.2      STREAM lab-host-b\n10.254.0.2      DGRAM  \n";
    assert_eq!(parse_getent(getent), Some("10.254.0.2".parse().unwrap()));
    assert_eq!(parse_getent(""), None);
    let route = r#"[{"dst":"10.254.0.2","dev":"veth-a","prefsrc":"10.254.0.1","flags":[],"uid":0,"cache":[]}]"#;
    assert_eq!(parse_route_src(route), Some("10.254.0.1".parse().unwrap()));
    assert_eq!(parse_route_src("[]"), None);
}
