//! Vagrant's published "insecure" key pair. Vagrant boxes authorize its
//! public half for the `vagrant` user so that the first login works with no
//! setup; Vagrant then replaces it (`config.ssh.insert_key`). `lab` does the
//! same: it logs in with it only to install the lab's key, and removes it
//! from every `authorized_keys` of the guest before calling the node ready.
//!
//! Source: the `keys/` directory of Vagrant
//! (<https://github.com/hashicorp/vagrant/tree/main/keys>), as shipped in
//! Debian 12's `vagrant` 2.3.4 package (`keys/vagrant`, `keys/vagrant.pub`);
//! the ed25519 public key is the one Vagrant 2.4 added. Both are public by
//! design: they grant nothing once removed from a guest.

/// The login user of Vagrant boxes.
pub const VAGRANT_USER: &str = "vagrant";

/// Vagrant's insecure private key (RSA, PEM), for the first login only.
pub const INSECURE_PRIVATE_KEY: &str = "\
-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzI
w+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoP
kcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2
hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NO
Td0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcW
yLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQIBIwKCAQEA4iqWPJXtzZA68mKd
ELs4jJsdyky+ewdZeNds5tjcnHU5zUYE25K+ffJED9qUWICcLZDc81TGWjHyAqD1
Bw7XpgUwFgeUJwUlzQurAv+/ySnxiwuaGJfhFM1CaQHzfXphgVml+fZUvnJUTvzf
TK2Lg6EdbUE9TarUlBf/xPfuEhMSlIE5keb/Zz3/LUlRg8yDqz5w+QWVJ4utnKnK
iqwZN0mwpwU7YSyJhlT4YV1F3n4YjLswM5wJs2oqm0jssQu/BT0tyEXNDYBLEF4A
sClaWuSJ2kjq7KhrrYXzagqhnSei9ODYFShJu8UWVec3Ihb5ZXlzO6vdNQ1J9Xsf
4m+2ywKBgQD6qFxx/Rv9CNN96l/4rb14HKirC2o/orApiHmHDsURs5rUKDx0f9iP
cXN7S1uePXuJRK/5hsubaOCx3Owd2u9gD6Oq0CsMkE4CUSiJcYrMANtx54cGH7Rk
EjFZxK8xAv1ldELEyxrFqkbE4BKd8QOt414qjvTGyAK+OLD3M2QdCQKBgQDtx8pN
CAxR7yhHbIWT1AH66+XWN8bXq7l3RO/ukeaci98JfkbkxURZhtxV/HHuvUhnPLdX
3TwygPBYZFNo4pzVEhzWoTtnEtrFueKxyc3+LjZpuo+mBlQ6ORtfgkr9gBVphXZG
YEzkCD3lVdl8L4cw9BVpKrJCs1c5taGjDgdInQKBgHm/fVvv96bJxc9x1tffXAcj
3OVdUN0UgXNCSaf/3A/phbeBQe9xS+3mpc4r6qvx+iy69mNBeNZ0xOitIjpjBo2+
dBEjSBwLk5q5tJqHmy/jKMJL4n9ROlx93XS+njxgibTvU6Fp9w+NOFD/HvxB3Tcz
6+jJF85D5BNAG3DBMKBjAoGBAOAxZvgsKN+JuENXsST7F89Tck2iTcQIT8g5rwWC
P9Vt74yboe2kDT531w8+egz7nAmRBKNM751U/95P9t88EDacDI/Z2OwnuFQHCPDF
llYOUI+SpLJ6/vURRbHSnnn8a/XG+nzedGH5JGqEJNQsz+xT2axM0/W/CRknmGaJ
kda/AoGANWrLCz708y7VYgAtW2Uf1DPOIYMdvo6fxIB5i9ZfISgcJ/bbCUkFrhoH
+vq/5CIWxCPp0f85R4qxxQ5ihxJ0YDQT9Jpx4TMss4PSavPaBH3RXow5Ohe+bYoQ
NE5OgEXk2wVfZczCZpigBKbKZHNYcelXtTt/nP3rsCuGcM4h53s=
-----END RSA PRIVATE KEY-----
";

/// The key material (second field of an `authorized_keys` line) of
/// Vagrant's insecure public keys: RSA (every Vagrant) and ed25519
/// (Vagrant 2.4 and later).
pub const INSECURE_PUBLIC_KEYS: [&str; 2] = [
    "AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ==",
    "AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y",
];

use anyhow::{Context, Result, bail};

use super::{Target, exec_on, pub_key_path};

/// `grep -F` arguments matching any insecure key (base64 needs no shell
/// quoting).
fn grep_patterns() -> String {
    INSECURE_PUBLIC_KEYS
        .iter()
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
    if sess
        .userauth_pubkey_memory(&t.user, None, INSECURE_PRIVATE_KEY, None)
        .is_err()
        || !sess.authenticated()
    {
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
