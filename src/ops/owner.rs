//! Whose is a libvirt object? Every domain and network `lab` defines
//! carries a [`LabTag`] (lab name, instance id, lab file) in its metadata;
//! the instance id also lives in the lab's state. An object of one of our
//! names is ours only when its tag names this lab AND this instance, so a
//! second lab of the same name in another directory, or a domain someone
//! defined by hand, is never taken, shown or removed as ours.
//!
//! Also here: loading the state of a lab for a workflow ([`LabCtx::state`]),
//! which upgrades an older state format and refuses a state directory that
//! was copied from a lab that still uses it.

use std::path::Path;

use anyhow::{Result, bail};

use super::LabCtx;
use crate::backend::{Hypervisor, LabTag, Maker, NetworkInfo};
use crate::state::{BASE_FORMAT, State, StateDir};

/// Whose an object of one of this lab's names is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No such object.
    Missing,
    /// This lab instance made it.
    Ours,
    /// Someone else: the sentence says who, e.g. "lab `bugs` made from
    /// /home/a/lab.yaml" or "not made by lab (it has no lab metadata)".
    Other(String),
}

/// Classify an object by its maker. `recorded`: the state of this lab
/// names the object; that alone proves an object without an instance id
/// (made before lab recorded instances) ours.
pub fn classify(maker: Option<Maker>, lab: &str, st: &State, recorded: bool) -> Owner {
    match maker {
        None => Owner::Missing,
        Some(Maker::Lab(tag))
            if tag.lab == lab && !st.instance.is_empty() && tag.instance == st.instance =>
        {
            Owner::Ours
        }
        Some(Maker::Lab(tag)) if tag.lab == lab && tag.instance.is_empty() && recorded => {
            Owner::Ours
        }
        Some(Maker::Lab(tag)) => Owner::Other(made_by(&tag)),
        Some(Maker::Unknown) => Owner::Other("not made by lab (it has no lab metadata)".into()),
    }
}

/// "lab `NAME` made from FILE" for a tag of another instance.
fn made_by(tag: &LabTag) -> String {
    if tag.file.is_empty() {
        format!("lab `{}` of another directory", tag.lab)
    } else {
        format!("lab `{}` made from {}", tag.lab, tag.file)
    }
}

impl LabCtx {
    /// The tag this lab instance writes on the objects it defines.
    pub fn tag(&self, st: &State, node: Option<&str>) -> LabTag {
        LabTag {
            lab: self.lab.name.clone(),
            instance: st.instance.clone(),
            file: self.file().display().to_string(),
            node: node.map(str::to_string),
        }
    }

    /// Whose domain `name` is (on its node's host).
    pub fn domain_owner(&self, st: &State, name: &str) -> Result<Owner> {
        domain_owner(
            self.hv_of_domain(st, name).as_ref(),
            &self.lab.name,
            st,
            name,
        )
    }

    /// Whose network `name` is.
    pub fn network_owner(&self, st: &State, name: &str) -> Result<Owner> {
        network_owner(self.hv.as_ref(), &self.lab.name, st, name)
    }

    /// The lab's state for a workflow: an older format is upgraded in
    /// memory (saved by the next write), a state dir copied from a lab that
    /// still uses it is refused (it would claim that lab's VMs), one moved
    /// with its lab follows the lab file.
    pub fn state(&self) -> Result<State> {
        let mut st = self.state_dir.load()?;
        if st.format < BASE_FORMAT {
            tracing::warn!(
                "{} was written by an older lab (state format {}); it is read as is and written as format {} from now on",
                self.state_dir.file(crate::state::STATE_FILE).display(),
                st.format,
                st.format_needed()
            );
            st.format = st.format_needed();
        }
        let file = self.file().display().to_string();
        if !st.file.is_empty() && st.file != file {
            refuse_copy(&st, &self.state_dir)?;
            st.file = file;
        }
        if !st.lab.is_empty() && st.lab != self.lab.name {
            bail!(
                "{} belongs to lab `{}`, not `{}`: run `lab destroy` with the old lab file first",
                self.state_dir.path().display(),
                st.lab,
                self.lab.name
            );
        }
        Ok(st)
    }
}

/// Whose domain `name` on `hv` is, for the lab named `lab` whose state is
/// `st` (what `lab up`, `lab status` and `lab doctor` all ask). Errors:
/// libvirt's.
pub fn domain_owner(hv: &dyn Hypervisor, lab: &str, st: &State, name: &str) -> Result<Owner> {
    let recorded = st.nodes.values().any(|n| n.domain == name);
    Ok(classify(hv.domain_maker(name)?, lab, st, recorded))
}

/// Whose network `name` on `hv` is ([`domain_owner`] for a network).
pub fn network_owner(hv: &dyn Hypervisor, lab: &str, st: &State, name: &str) -> Result<Owner> {
    Ok(network_owner_in(&hv.list_networks()?, lab, st, name))
}

/// Whose network `name` among `networks` (a host's, as listed) is.
pub fn network_owner_in(networks: &[NetworkInfo], lab: &str, st: &State, name: &str) -> Owner {
    let maker = networks
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.maker.clone());
    let recorded = st.network.as_deref() == Some(name);
    classify(maker, lab, st, recorded)
}

/// The state names another lab file: when that file's state dir still
/// holds the same instance, this one is a copy.
fn refuse_copy(st: &State, here: &StateDir) -> Result<()> {
    let Some(orig_dir) = Path::new(&st.file).parent() else {
        return Ok(());
    };
    let orig = StateDir::for_lab_dir(orig_dir);
    if orig.path() == here.path() {
        return Ok(());
    }
    match orig.load() {
        Ok(o) if !st.instance.is_empty() && o.instance == st.instance => bail!(
            "{} is a copy of {} (lab `{}`, instance {}), which still manages that lab's VMs; remove {} to make this directory a new lab, or work in {}",
            here.path().display(),
            orig.path().display(),
            st.lab,
            st.instance,
            here.path().display(),
            orig_dir.display()
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(lab: &str, instance: &str) -> Maker {
        Maker::Lab(LabTag {
            lab: lab.into(),
            instance: instance.into(),
            file: "/a/lab.yaml".into(),
            node: None,
        })
    }

    #[test]
    fn only_this_instance_or_a_recorded_legacy_object_is_ours() {
        let st = State {
            instance: "aaaa".into(),
            ..State::default()
        };
        assert_eq!(classify(None, "bugs", &st, false), Owner::Missing);
        assert_eq!(
            classify(Some(tag("bugs", "aaaa")), "bugs", &st, false),
            Owner::Ours
        );
        assert_eq!(
            classify(Some(tag("bugs", "bbbb")), "bugs", &st, true),
            Owner::Other("lab `bugs` made from /a/lab.yaml".into())
        );
        assert_eq!(
            classify(Some(tag("bugs", "")), "bugs", &st, true),
            Owner::Ours
        );
        assert!(matches!(
            classify(Some(tag("bugs", "")), "bugs", &st, false),
            Owner::Other(_)
        ));
        assert!(matches!(
            classify(Some(tag("other", "aaaa")), "bugs", &st, true),
            Owner::Other(_)
        ));
        let msg = classify(Some(Maker::Unknown), "bugs", &st, true);
        assert_eq!(
            msg,
            Owner::Other("not made by lab (it has no lab metadata)".into())
        );
        // A state without an instance owns nothing but recorded legacy objects.
        let fresh = State::default();
        assert!(matches!(
            classify(Some(tag("bugs", "")), "bugs", &fresh, false),
            Owner::Other(_)
        ));
    }
}
