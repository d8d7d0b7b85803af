//! Vagrant's insecure keys ([`super::vagrant_keys`]) on a guest: Vagrant
//! boxes authorize them for the `vagrant` user so that the first login
//! works with no setup; Vagrant then replaces them (`config.ssh.insert_key`).
//! `lab` does the same: it logs in with one only to install the lab's key,
//! and removes them from every `authorized_keys` of the guest before
//! calling the node ready.

use anyhow::{Context, Result, bail};

use super::vagrant_keys::{
    INSECURE_PRIVATE_KEY, INSECURE_PRIVATE_KEY_ED25519, INSECURE_PUBLIC_KEYS,
};
use super::{Target, exec_on, pub_key_path};

/// The login user of Vagrant boxes.
pub const VAGRANT_USER: &str = "vagrant";

/// `grep -F` arguments matching any insecure key (base64 needs no shell
/// quoting).
fn grep_patterns() -> String {
    INSECURE_PUBLIC_KEYS
        .iter()
        .filter_map(|k| k.split_whitespace().nth(1))
        .map(|k| format!("-e {k}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// On a session whose login with the lab's key was refused, try Vagrant's
/// insecure key for `t.user`; when it works, put the lab's public key
/// (`KEY.pub` beside `t.key`) in that user's `authorized_keys` in place
/// of the insecure keys, as Vagrant's `insert_key` does. `Ok(false)` when
/// the insecure key was refused too (e.g. cloud-init has not installed
/// the lab's key yet on a box that has it).
pub fn insert_lab_key(sess: &ssh2::Session, t: &Target) -> Result<bool> {
    // RSA first: what every Vagrant before 2.3.8 puts in boxes.
    for key in [INSECURE_PRIVATE_KEY, INSECURE_PRIVATE_KEY_ED25519] {
        if sess.authenticated() {
            break;
        }
        let _ = sess.userauth_pubkey_memory(&t.user, None, key, None);
    }
    if !sess.authenticated() {
        return Ok(false);
    }
    let pubkey_path = pub_key_path(&t.key);
    let pubkey = std::fs::read_to_string(&pubkey_path)
        .with_context(|| format!("cannot read {}", pubkey_path.display()))?;
    let pubkey = pubkey.trim();
    if pubkey.contains('\'') || pubkey.contains('\n') {
        bail!("{} is not one public key line", pubkey_path.display());
    }
    let script = format!(
        "umask 077 && mkdir -p ~/.ssh && {{ grep -v -F {pats} ~/.ssh/authorized_keys 2>/dev/null; echo '{pubkey}'; }} > ~/.ssh/authorized_keys.lab && mv ~/.ssh/authorized_keys.lab ~/.ssh/authorized_keys",
        pats = grep_patterns()
    );
    let (code, out) = exec_on(sess, &script)?;
    if code != 0 {
        bail!(
            "logged in with Vagrant's insecure key but could not install the lab's key (exit {code}): {out}"
        );
    }
    Ok(true)
}

/// Remove Vagrant's insecure keys from every `authorized_keys` of the guest
/// (root's and each home's), through passwordless sudo, and check that none
/// is left. Fails when sudo asks for a password or a key survives.
pub fn remove_insecure_keys(sess: &ssh2::Session) -> Result<()> {
    let pats = grep_patterns();
    let script = format!(
        "sudo -n sh -c 'for f in /root/.ssh/authorized_keys /root/.ssh/authorized_keys2 /home/*/.ssh/authorized_keys /home/*/.ssh/authorized_keys2; do [ -f \"$f\" ] || continue; grep -q -F {pats} \"$f\" || continue; grep -v -F {pats} \"$f\" > \"$f.lab\"; chown --reference=\"$f\" \"$f.lab\"; chmod --reference=\"$f\" \"$f.lab\"; mv \"$f.lab\" \"$f\" || exit 1; done; ! grep -s -q -F {pats} /root/.ssh/authorized_keys /root/.ssh/authorized_keys2 /home/*/.ssh/authorized_keys /home/*/.ssh/authorized_keys2' 2>&1",
    );
    let (code, out) = exec_on(sess, &script)?;
    if code != 0 {
        bail!(
            "could not remove Vagrant's insecure key from the guest's authorized_keys (exit {code}; lab needs passwordless sudo): {}",
            out.trim()
        );
    }
    Ok(())
}
