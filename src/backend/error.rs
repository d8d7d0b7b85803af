//! [`BackendError`]: what can go wrong talking to the hypervisor, as
//! sentences a user can act on, and the mapping from libvirt's error codes.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;
use virt::error::{Error as VirtError, ErrorDomain, ErrorNumber};

/// The kind of libvirt object an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Domain,
    Network,
    StoragePool,
    Volume,
    Snapshot,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Domain => "domain",
            Kind::Network => "network",
            Kind::StoragePool => "storage pool",
            Kind::Volume => "volume",
            Kind::Snapshot => "snapshot",
        })
    }
}

/// What to do when no libvirt daemon answers (the end of
/// [`BackendError::Unreachable`]; `lab doctor` shows it as the fix).
pub const UNREACHABLE_FIX: &str = "Is libvirtd running? Start it (`systemctl start libvirtd`, or \
    `virtlogd -d && libvirtd -d` where no init system runs; it comes with \
    `apt-get install libvirt-daemon-system qemu-system-x86`), or point LAB_LIBVIRT_URI at a \
    running one.";

/// What to do when libvirt refuses us (the end of
/// [`BackendError::PermissionDenied`]).
pub const DENIED_FIX: &str =
    "Run lab as root or add your user to the `libvirt` group (then log in again).";

/// What to do when libvirt's socket takes the connection but the daemon
/// never answers (the end of [`BackendError::NoAnswer`]).
pub const NO_ANSWER_FIX: &str = "Restart libvirtd (`systemctl restart libvirtd`, or kill it and \
    run `libvirtd -d`), or point LAB_LIBVIRT_URI at a running one.";

/// `local`, this machine's fix, for a local `uri`; for libvirt on another
/// machine, what must work from here instead.
fn fix_for(uri: &str, local: &'static str) -> String {
    if super::libvirt::is_remote(uri) {
        format!(
            "`virsh -c '{uri}' list` must work from this machine: libvirtd running there, and for qemu+ssh this user's ssh logging in without a prompt."
        )
    } else {
        local.to_string()
    }
}

/// A failed hypervisor operation.
#[derive(Debug, Error)]
pub enum BackendError {
    #[error(
        "cannot reach libvirt at `{uri}`: {message}. {}",
        fix_for(uri, UNREACHABLE_FIX)
    )]
    Unreachable { uri: String, message: String },

    #[error(
        "libvirt at `{uri}` refused access: {message}. {}",
        fix_for(uri, DENIED_FIX)
    )]
    PermissionDenied { uri: String, message: String },

    #[error(
        "libvirt at `{uri}` did not answer within {seconds} s: something accepts \
         connections on its socket but does not respond. {NO_ANSWER_FIX}"
    )]
    NoAnswer { uri: String, seconds: u64 },

    #[error("{kind} `{name}` does not exist")]
    NotFound { kind: Kind, name: String },

    #[error("libvirt rejected the definition of {kind} `{name}`: {message}")]
    Rejected {
        kind: Kind,
        name: String,
        message: String,
    },

    #[error("{kind} `{name}` conflicts with an existing one: {message}")]
    Conflict {
        kind: Kind,
        name: String,
        message: String,
    },

    #[error("the libvirt driver at `{uri}` cannot {op}: {message}")]
    Unsupported {
        uri: String,
        op: String,
        message: String,
    },

    #[error("storage pool `{name}` already exists at {existing}, not at {wanted}")]
    PoolElsewhere {
        name: String,
        existing: PathBuf,
        wanted: PathBuf,
    },

    #[error("could not read {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: std::io::Error,
    },

    #[error("libvirt could not {op}: {message}")]
    Failed { op: String, message: String },

    /// Every call to a host whose connection failed earlier (see
    /// [`super::Unreachable`]): that failure's sentence, as it was.
    #[error("{why}")]
    NotConnected { why: String },
}

impl BackendError {
    /// Whether this says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, BackendError::NotFound { .. })
    }

    /// Turn a libvirt error from operation `op` on `kind` `name` into a
    /// sentence. `op` reads after "could not", e.g. "start domain `x`".
    pub fn from_virt(uri: &str, op: &str, kind: Kind, name: &str, e: &VirtError) -> Self {
        let message = e.message().trim().to_string();
        let code = e.code().unwrap_or(ErrorNumber::InternalError);
        if let Some(err) = connection_error(uri, code, e, &message) {
            return err;
        }
        let (kind, name) = (kind, name.to_string());
        match code {
            ErrorNumber::NoDomain => BackendError::NotFound {
                kind: Kind::Domain,
                name,
            },
            ErrorNumber::NoNetwork => BackendError::NotFound {
                kind: Kind::Network,
                name,
            },
            ErrorNumber::NoStoragePool => BackendError::NotFound {
                kind: Kind::StoragePool,
                name,
            },
            ErrorNumber::NoStorageVolume => BackendError::NotFound {
                kind: Kind::Volume,
                name,
            },
            ErrorNumber::NoDomainSnapshot => BackendError::NotFound {
                kind: Kind::Snapshot,
                name,
            },
            ErrorNumber::NoSupport
            | ErrorNumber::OperationUnsupported
            | ErrorNumber::ArgumentUnsupported => BackendError::Unsupported {
                uri: uri.to_string(),
                op: op.to_string(),
                message,
            },
            ErrorNumber::XmlError
            | ErrorNumber::XmlDetail
            | ErrorNumber::XmlInvalidSchema
            | ErrorNumber::ConfigUnsupported
            | ErrorNumber::InvalidMac => BackendError::Rejected {
                kind,
                name,
                message,
            },
            ErrorNumber::DomExist | ErrorNumber::NetworkExist | ErrorNumber::StorageVolExist => {
                BackendError::Conflict {
                    kind,
                    name,
                    message,
                }
            }
            _ => BackendError::Failed {
                op: op.to_string(),
                message,
            },
        }
    }
}

/// Errors that are about the connection, not the object: no daemon, no
/// socket, no permission.
fn connection_error(
    uri: &str,
    code: ErrorNumber,
    e: &VirtError,
    message: &str,
) -> Option<BackendError> {
    let lower = message.to_ascii_lowercase();
    let denied = matches!(
        code,
        ErrorNumber::AuthFailed
            | ErrorNumber::AuthCancelled
            | ErrorNumber::AuthUnavailable
            | ErrorNumber::AccessDenied
    ) || (lower.contains("permission denied") && is_socket_error(code, e, &lower))
        || is_polkit_refusal(&lower);
    if denied {
        return Some(BackendError::PermissionDenied {
            uri: uri.to_string(),
            message: message.to_string(),
        });
    }
    let unreachable = matches!(code, ErrorNumber::NoConnect | ErrorNumber::InvalidConn)
        || is_socket_error(code, e, &lower);
    unreachable.then(|| BackendError::Unreachable {
        uri: uri.to_string(),
        message: message.to_string(),
    })
}

/// libvirtd asks polkit whether a user other than root may connect (its
/// `auth_unix_rw = "polkit"`); without polkit or the system D-Bus it
/// cannot ask, and refuses with an internal error saying so.
fn is_polkit_refusal(lower: &str) -> bool {
    lower.contains("polkit") || lower.contains("unable to get system bus connection")
}

/// libvirt reports a missing or refused socket as a system error from the
/// RPC layer ("Failed to connect socket to '...': No such file or directory").
fn is_socket_error(code: ErrorNumber, e: &VirtError, lower: &str) -> bool {
    let rpc = e.domain().is(ErrorDomain::Rpc) || e.domain().is(ErrorDomain::Remote);
    (rpc && matches!(code, ErrorNumber::SystemError | ErrorNumber::Rpc))
        || lower.contains("failed to connect socket")
        || lower.contains("cannot recv data")
        || lower.contains("end of file while reading data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let e = BackendError::NotFound {
            kind: Kind::StoragePool,
            name: "lab".into(),
        };
        assert_eq!(e.to_string(), "storage pool `lab` does not exist");
        let e = BackendError::Unreachable {
            uri: "qemu:///system".into(),
            message: "Failed to connect socket".into(),
        };
        assert!(e.to_string().contains("systemctl start libvirtd"), "{e}");
        assert!(!e.to_string().contains("scripts/"), "{e}");
        let e = BackendError::PermissionDenied {
            uri: "qemu:///system".into(),
            message: "Permission denied".into(),
        };
        assert!(e.to_string().contains("`libvirt` group"), "{e}");
    }

    #[test]
    fn a_refusal_by_polkit_is_a_refusal() {
        // What libvirtd says to a user other than root where it cannot
        // ask polkit (no system D-Bus), and where polkit says no.
        for text in [
            "internal error: Unable to get system bus connection: Could not connect: No such file or directory",
            "authentication failed: access denied by policy (polkit)",
        ] {
            assert!(is_polkit_refusal(&text.to_ascii_lowercase()), "{text}");
        }
        assert!(!is_polkit_refusal(
            "failed to connect socket to '/run/libvirt/libvirt-sock'"
        ));
    }

    #[test]
    fn missing_daemon_maps_to_unreachable() {
        // The remote driver with a socket that cannot exist: no daemon, no
        // network, an error from the RPC layer.
        let uri = "qemu+unix:///system?socket=/nonexistent/lab-test-sock";
        let e = virt::connect::Connect::open(Some(uri)).unwrap_err();
        let mapped = BackendError::from_virt(uri, "connect", Kind::Domain, "", &e);
        assert!(
            matches!(mapped, BackendError::Unreachable { .. }),
            "{mapped:?} from {e}"
        );
    }
}
