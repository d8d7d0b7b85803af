//! The `provision` section, decoded and checked in one place because its
//! shape depends on `type`: `ansible` (controller, playbook, extra_vars) or
//! `shell` (scripts). Keys of the other type are reported as such. The
//! files it names, and the lab directory it copies, are checked in
//! [`super::files`].

use std::collections::{BTreeSet, HashSet};

use super::context::Context;
use super::decode::MapReader;
use super::diag::{Diags, clip, one_of};
use super::model::{Ansible, Controller, Provision, ScriptSource, ScriptStep, Shell};
use super::raw::{RawAnsible, RawNode, RawProvision, RawShell, RawStep, Sp, keys};
use super::suggest::closest;
use super::validate::known_box;
use super::values::{Decode, join};
use super::yaml::{Node, Span};
use super::{check, files};

const TYPES: [&str; 2] = ["ansible", "shell"];
const DEFAULT_CONTROLLER: &str = "control1";
/// Most node names a hint lists.
const LISTED: usize = 20;

/// Decodes `provision:`; `None` when its type is missing or unknown.
pub(crate) fn decode(node: &Node, field: &str, owner: Span, d: &mut Diags) -> Option<RawProvision> {
    let m = MapReader::new(node, field, owner, d)?;
    let ty: Option<Sp<String>> = m.required(
        "type",
        "say how to provision: `type: ansible` or `type: shell`",
        d,
    );
    let ty = ty.and_then(|t| match t.value.as_str() {
        "ansible" | "shell" => Some(t.value),
        other => {
            let diag = d.error(
                &join(field, "type"),
                t.span,
                format!(
                    "unknown provisioner {:?}; use {}",
                    clip(other),
                    one_of(&TYPES)
                ),
            );
            if let Some(near) = closest(other, TYPES) {
                diag.help(format!("did you mean `{near}`?"));
            }
            None
        }
    });
    let ansible = |d: &mut Diags| RawAnsible {
        controller: m.optional("controller", d),
        playbook: m.optional("playbook", d),
        extra_vars: m.optional("extra_vars", d),
        images: m.optional("images", d),
        mitogen: m.optional("mitogen", d),
    };
    let shell = |d: &mut Diags| RawShell {
        scripts: m.optional("scripts", d),
    };
    let raw = match ty.as_deref() {
        Some("ansible") => {
            wrong_type(&m, keys::SHELL, "ansible", "shell", d);
            if m.get("playbook").is_none() {
                m.missing(
                    "playbook",
                    "ansible provisioning needs a playbook, relative to the lab directory",
                    d,
                );
            }
            Some(RawProvision::Ansible(ansible(d)))
        }
        Some(_) => {
            wrong_type(&m, keys::ANSIBLE, "shell", "ansible", d);
            if m.get("scripts").is_none() {
                m.missing("scripts", "shell provisioning needs a list of steps", d);
            }
            Some(RawProvision::Shell(shell(d)))
        }
        None => {
            // Still type-check every field so that their errors show now.
            ansible(d);
            shell(d);
            None
        }
    };
    let known: Vec<&str> = ["type"]
        .iter()
        .chain(keys::ANSIBLE)
        .chain(keys::SHELL)
        .copied()
        .collect();
    m.finish(&known, "`provision`", d);
    raw
}

/// Reports the keys in `other` (the keys of type `theirs`) under type `ours`.
fn wrong_type(m: &MapReader<'_>, other: &[&str], ours: &str, theirs: &str, d: &mut Diags) {
    for (key, _) in m
        .entries()
        .iter()
        .filter(|(k, _)| other.contains(&k.value.as_str()))
    {
        d.error(
            &join(m.field(), &key.value),
            key.span,
            format!(
                "`{}` belongs to `type: {theirs}`, but this is `type: {ours}`",
                key.value
            ),
        )
        .label(format!("not used by {ours}"));
    }
}

impl Decode for RawStep {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let m = MapReader::new(node, field, Span::at(node.span.start), d)?;
        let step = RawStep {
            on: m.required(
                "on",
                "say which nodes or roles the step runs on, e.g. `on: [node1]`",
                d,
            ),
            script: m.optional("script", d),
            inline: m.optional("inline", d),
        };
        m.finish(keys::STEP, "a script step", d);
        Some(step)
    }
}

/// The node and role names `on:`, `controller:`, checks and forwards may
/// refer to.
pub(crate) struct Names {
    nodes: BTreeSet<String>,
    roles: BTreeSet<String>,
}

impl Names {
    pub(crate) fn of(nodes: &[(Sp<String>, RawNode)]) -> Names {
        Names {
            nodes: nodes.iter().map(|(n, _)| n.value.clone()).collect(),
            roles: nodes
                .iter()
                .flat_map(|(_, n)| n.roles.iter().flatten())
                .map(|r| r.value.clone())
                .collect(),
        }
    }

    pub(crate) fn is_node(&self, name: &str) -> bool {
        self.nodes.contains(name)
    }

    pub(crate) fn is_role(&self, name: &str) -> bool {
        self.roles.contains(name)
    }

    /// The node names, sorted.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &str> + Clone {
        self.nodes.iter().map(String::as_str)
    }

    /// `nodes: a, b, c` for a hint; past [`LISTED`] names, how many more.
    pub(crate) fn listed(&self) -> String {
        let shown: Vec<_> = self.nodes().take(LISTED).map(clip).collect();
        match self.nodes.len() - shown.len() {
            0 => format!("nodes: {}", shown.join(", ")),
            more => format!("nodes: {} and {more} more", shown.join(", ")),
        }
    }
}

/// Checks a decoded provision; `names` is `None` when the nodes could not
/// be read (then references are not checked).
pub(crate) fn validate(
    raw: &Sp<RawProvision>,
    names: Option<&Names>,
    ctx: &Context,
    d: &mut Diags,
) -> Option<Provision> {
    let mut files = files::Files::new(ctx);
    let provision = match &raw.value {
        RawProvision::Ansible(a) => {
            ansible(a, raw.span, names, ctx, &mut files, d).map(Provision::Ansible)
        }
        RawProvision::Shell(s) => shell(s, names, &mut files, d).map(Provision::Shell),
    };
    let copied_by = match &raw.value {
        RawProvision::Shell(_) => Some("shell provisioning"),
        RawProvision::Ansible(a) if !on_host(a) => {
            Some("Ansible provisioning on a controller node")
        }
        RawProvision::Ansible(_) => None,
    };
    if let Some(how) = copied_by {
        files::copyable("provision", raw.span, how, ctx, d);
    }
    provision
}

/// Whether Ansible runs on this machine (`controller: host`), in the lab
/// directory itself rather than in a copy on a node.
fn on_host(a: &RawAnsible) -> bool {
    a.controller.as_ref().is_some_and(|c| c.value == "host")
}

fn ansible(
    raw: &RawAnsible,
    span: Span,
    names: Option<&Names>,
    ctx: &Context,
    files: &mut files::Files<'_>,
    d: &mut Diags,
) -> Option<Ansible> {
    let controller = match (&raw.controller, names) {
        (Some(c), _) if c.value == "host" => Some(Controller::Host),
        (Some(c), Some(names)) if !names.nodes.contains(&c.value) => {
            d.error(
                "provision.controller",
                c.span,
                format!("`{}` is not a node", clip(&c.value)),
            )
            .help_with(|| {
                let how = "the controller is a node name or `host`";
                match closest(&c.value, names.nodes().chain(["host"])) {
                    Some(near) => format!("did you mean `{near}`? {how}"),
                    None => how.to_owned(),
                }
            });
            None
        }
        (Some(c), _) => Some(Controller::Node(c.value.clone())),
        (None, Some(names)) if !names.nodes.contains(DEFAULT_CONTROLLER) => {
            d.error(
                "provision.controller",
                Span::at(span.start),
                "is not set, and the default controller `control1` is not a node",
            )
            .label("add `controller:` here")
            .help("set `controller:` to a node name, or to `host` to run Ansible on this machine");
            None
        }
        (None, _) => Some(Controller::Node(DEFAULT_CONTROLLER.into())),
    };
    let playbook = raw.playbook.as_ref().and_then(|p| {
        let r = files::Ref {
            field: "provision.playbook",
            what: "the playbook",
            copied: !on_host(raw),
            inside: false,
        };
        relative(p, r.field, d).filter(|_| files.referenced(p, r, d))
    });
    let mut images: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut images_ok = true;
    for image in raw.images.iter().flat_map(|l| l.value.iter()) {
        let field = format!("provision.images[{}]", image.index);
        if !known_box(image, &field, ctx, d) {
            images_ok = false;
        } else if !seen.insert(&image.value) {
            d.error(
                &field,
                image.span,
                format!("`{}` is listed twice", clip(&image.value)),
            );
            images_ok = false;
        } else {
            images.push(image.value.clone());
        }
    }
    Some(Ansible {
        controller: controller?,
        playbook: playbook?.into(),
        images: images_ok.then_some(images)?,
        extra_vars: raw
            .extra_vars
            .as_ref()
            .map(|v| v.value.clone())
            .unwrap_or_default(),
        mitogen: raw.mitogen.as_ref().is_none_or(|m| m.value),
    })
}

/// The `script:` of FIELD (a shell step's or a check's): a path relative to
/// the lab directory naming a file inside it, `copied` to the node or run
/// from the lab directory; `None` with the error recorded otherwise.
pub(super) fn script_file(
    script: &Sp<String>,
    field: &str,
    copied: bool,
    files: &mut files::Files<'_>,
    d: &mut Diags,
) -> Option<String> {
    let field = join(field, "script");
    let r = files::Ref {
        field: &field,
        what: "the script",
        copied,
        inside: true,
    };
    relative(script, &field, d).filter(|_| files.referenced(script, r, d))
}

pub(super) fn relative(path: &Sp<String>, field: &str, d: &mut Diags) -> Option<String> {
    match check::relative_path(&path.value) {
        Ok(()) => Some(path.value.clone()),
        Err(why) => {
            d.error(
                field,
                path.span,
                format!("the path {:?} {why}", clip(&path.value)),
            );
            None
        }
    }
}

fn shell(
    raw: &RawShell,
    names: Option<&Names>,
    files: &mut files::Files<'_>,
    d: &mut Diags,
) -> Option<Shell> {
    let steps = raw.scripts.as_ref()?;
    if steps.value.is_empty() {
        d.error(
            "provision.scripts",
            steps.span,
            "is an empty list; give at least one step",
        );
    }
    let mut scripts = Vec::new();
    for step in &steps.value {
        let field = format!("provision.scripts[{}]", step.index);
        let on = step.value.on.as_ref().map_or(&[][..], |on| &on.value);
        if let Some(list) = &step.value.on
            && list.value.is_empty()
        {
            d.error(
                &join(&field, "on"),
                list.span,
                "is an empty list; name at least one node or role",
            );
        }
        if let Some(names) = names {
            for target in on {
                let j = target.index;
                if names.nodes.contains(&target.value) || names.roles.contains(&target.value) {
                    continue;
                }
                d.error(
                    &format!("{field}.on[{j}]"),
                    target.span,
                    format!("`{}` is neither a node nor a role", clip(&target.value)),
                )
                .help_with(|| {
                    let known = names.nodes.iter().chain(&names.roles).map(String::as_str);
                    match closest(&target.value, known) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => "`on:` takes node names and role names (from the nodes' `roles:`)"
                            .to_owned(),
                    }
                });
            }
        }
        let source = match (&step.value.script, &step.value.inline) {
            (Some(script), None) => {
                script_file(script, &field, true, files, d).map(|p| ScriptSource::File(p.into()))
            }
            (None, Some(inline)) => Some(ScriptSource::Inline(inline.value.clone())),
            (Some(script), Some(inline)) => {
                d.error(
                    &field,
                    inline.span,
                    "has both `script` and `inline`; give exactly one",
                )
                .label("inline script")
                .also(script.span, "script file");
                // The file's own faults are reported now too.
                script_file(script, &field, true, files, d);
                None
            }
            (None, None) => {
                d.error(&field, Span::at(step.span.start), "has neither `script` nor `inline`; give exactly one")
                    .help("`script:` names a file relative to the lab directory; `inline:` holds the script text");
                None
            }
        };
        if let Some(source) = source {
            scripts.push(ScriptStep {
                on: on.iter().map(|t| t.value.clone()).collect(),
                source,
            });
        }
    }
    Some(Shell { scripts })
}
