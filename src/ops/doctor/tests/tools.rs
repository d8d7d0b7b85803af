use std::path::PathBuf;

use super::super::tools::{self, ToolsProbe};
use super::super::{Check, Status};
use super::is;
use crate::ops::up::ToolNeeds;

fn run_tools(
    needs: Option<&ToolNeeds>,
    missing: &[&'static str],
    root: bool,
    found: &[&'static str],
) -> Vec<Check> {
    tools::tools(&ToolsProbe {
        needs,
        missing_build: missing.to_vec(),
        root,
        found: ["ssh-keygen", "ssh", "ansible-playbook"]
            .into_iter()
            .map(|p| {
                (
                    p,
                    found
                        .contains(&p)
                        .then(|| PathBuf::from(format!("/usr/bin/{p}"))),
                )
            })
            .collect(),
    })
}

#[test]
fn a_missing_tool_fails_when_the_lab_needs_it_else_warns() {
    let all = ["ssh-keygen", "ssh", "ansible-playbook"];
    let checks = run_tools(None, &[], true, &all);
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_ref()).collect();
    assert_eq!(names, ["box-tools", "ssh-keygen", "ssh", "ansible"]);
    let builds = ToolNeeds {
        builds: vec!["debian-12".into()],
        programs: vec![("ssh-keygen", "the lab's SSH key")],
        uefi: vec![],
    };
    let c = &run_tools(Some(&builds), &["mmdebstrap"], true, &all)[0];
    is(
        c,
        Status::Fail,
        "lab up must build debian-12 first, but `mmdebstrap` is not installed",
        "install it: apt-get install mmdebstrap",
    );
    let c = &run_tools(Some(&builds), &["chroot", "mkfs.ext4", "cp"], true, &all)[0];
    is(
        c,
        Status::Fail,
        "`chroot`, `mkfs.ext4` and `cp` are not installed",
        "install them: apt-get install coreutils e2fsprogs (",
    );
    let c = &run_tools(Some(&builds), &[], false, &all)[0];
    is(c, Status::Fail, "building a box needs root", "as root");
    let built = ToolNeeds {
        builds: vec![],
        programs: builds.programs.clone(),
        uefi: vec![],
    };
    let c = &run_tools(Some(&built), &["mmdebstrap", "qemu-img"], true, &all)[0];
    is(
        c,
        Status::Warn,
        "needed only to build boxes; this lab's are built",
        "mmdebstrap qemu-utils",
    );
    is(
        &run_tools(None, &["mmdebstrap"], true, &all)[0],
        Status::Warn,
        "needed only to build boxes",
        "mmdebstrap",
    );
    is(
        &run_tools(Some(&built), &[], false, &all)[0],
        Status::Pass,
        "building a box needs root",
        "",
    );
    // ssh-keygen: every lab; ssh and ansible-playbook: `controller: host`.
    let none = run_tools(None, &[], true, &[]);
    is(
        &none[1],
        Status::Fail,
        "ssh-keygen is not installed",
        "openssh-client",
    );
    is(
        &none[2],
        Status::Warn,
        "`lab ssh` needs it",
        "openssh-client",
    );
    is(
        &none[3],
        Status::Warn,
        "`controller: host` need it",
        "apt-get install ansible",
    );
    let host_ansible = ToolNeeds {
        builds: vec![],
        programs: vec![
            ("ssh-keygen", "the lab's SSH key"),
            ("ansible-playbook", "`controller: host` in the lab file"),
            ("ssh", "ansible-playbook on this machine connects with it"),
        ],
        uefi: vec![],
    };
    let c = run_tools(Some(&host_ansible), &[], true, &["ssh-keygen"]);
    is(
        &c[2],
        Status::Fail,
        "ssh is not installed; ansible-playbook on this machine",
        "openssh-client",
    );
    is(
        &c[3],
        Status::Fail,
        "ansible-playbook is not installed; `controller: host` in the lab file",
        "ansible",
    );
    is(
        &run_tools(None, &[], true, &all)[3],
        Status::Pass,
        "/usr/bin/ansible-playbook",
        "",
    );
}
