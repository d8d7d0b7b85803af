//! Long text from the lab file is quoted clipped in every diagnostic: each
//! value and key of a lab that uses every section is replaced, one at a
//! time, by long texts of several shapes, and no message, hint or field
//! path may grow with them.

use super::*;

/// A lab using every section; `@` marks each place a long text goes.
const TEMPLATE: &[&str] = &[
    "name: @",
    "box: @",
    "accel: @",
    "libvirt_uri: @",
    "hosts: {@: {uri: qemu:///system}}",
    "hosts: {a: {uri: @, ssh: @}}",
    "hosts: {a: {uri: qemu+tls://@/system}}",
    "hosts: {a: {uri: qemu:///system}}\nnodes: {node1: {ip: 10.77.10.21, host: @}}",
    "network: {subnet: @, domain: @}",
    "proxy: @",
    "proxy: http://@:8888",
    "proxy: http://gateway:@",
    "defaults: {cpus: @}",
    "@: 1",
    "nodes: {@: {ip: 10.77.10.21}}",
    "nodes: {node1: {ip: @, cpus: @, box: @, roles: [@, @]}}",
    "nodes: {node1: {ip: 10.77.10.21, @: 1}}",
    "provision: {type: @}",
    "provision: {type: ansible, controller: @, playbook: @, images: [@]}",
    "provision: {type: shell, scripts: [{on: [@], script: @}]}",
    "provision: {type: shell, scripts: [{on: [node1], inline: x, @: 1}]}",
    "checks: [{name: @, on: @, run: x, retries: @}]",
    "forwards: [{node: @, guest: @, host: 80, address: @}]",
    "links: [{name: x, url: 'http://{@}/', on: @, when: x}]",
    "x: &@ 1",
    "box: *@",
];

const BASE: &str = "name: t\nbox: debian-12\nnetwork: {subnet: 10.77.10.0/24}\nnodes: {node1: {ip: 10.77.10.21}}\n";

/// Long texts: a word, a number, spaced words, a path, a name in a
/// hyphenated DNS shape.
fn longs() -> Vec<String> {
    let n = 5000;
    vec![
        format!("Ab_{}", "x".repeat(n)),
        "1".repeat(n),
        "a ".repeat(n / 2).trim_end().to_owned(),
        format!("dir/{}.sh", "d".repeat(n)),
        format!("{}-z", "y".repeat(n)),
        "é".repeat(n),
    ]
}

#[test]
fn messages_hints_and_fields_quote_long_text_clipped() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx().with_lab_dir(dir.path());
    let mut seen = 0;
    for line in TEMPLATE {
        for long in longs() {
            let line = line.replace('@', &long);
            // The line replaces the base's line of the same key, if any.
            let key = line.split(':').next().unwrap();
            let base: String = BASE
                .lines()
                .filter(|l| l.split(':').next() != Some(key))
                .map(|l| format!("{l}\n"))
                .collect();
            let src = format!("{base}{line}\n");
            let Err(err) = parse_str(&src, "lab.yaml", &ctx) else {
                continue;
            };
            for e in err.diagnostics() {
                seen += 1;
                let size = e.message().len() + e.hint().map_or(0, str::len) + e.field().len();
                let shown: String = format!("{e} / {:?}", e.hint()).chars().take(300).collect();
                assert!(size < 600, "{size} bytes for {line:.80}: {shown}");
            }
        }
    }
    assert!(seen > 100, "only {seen} diagnostics");
}
