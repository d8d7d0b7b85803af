//! Vagrant's "insecure" key pairs: published by HashiCorp so that any
//! Vagrant can log in to any base box the first time (Vagrant then puts a
//! key of its own in their place, unless `config.ssh.insert_key = false`).
//! Everyone has the private halves, so a guest must never keep them
//! authorized once a real key is in place.
//!
//! Source: <https://github.com/hashicorp/vagrant/tree/main/keys>
//! (`vagrant.pub.rsa` = `vagrant.pub`, `vagrant.pub.ed25519`,
//! `vagrant` = `vagrant.key.rsa`, `vagrant.key.ed25519`). The RSA pair
//! is also in Debian 12's `vagrant` package (2.3.4), under
//! `/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/`: the
//! keys' README says Vagrant before 2.3.8 uses only the RSA private key,
//! so a box authorizes both. Each private key here gives its public key
//! with `ssh-keygen -y` (see the tests).

/// The RSA public key, one OpenSSH `authorized_keys` line (no newline).
pub const INSECURE_PUBLIC_KEY_RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";

/// The ed25519 public key, one OpenSSH `authorized_keys` line (no
/// newline).
pub const INSECURE_PUBLIC_KEY_ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key";

/// Every insecure public key, as a box's `authorized_keys` lists them
/// (RSA first: the one every Vagrant release logs in with).
pub const INSECURE_PUBLIC_KEYS: [&str; 2] = [INSECURE_PUBLIC_KEY_RSA, INSECURE_PUBLIC_KEY_ED25519];

/// The private half of [`INSECURE_PUBLIC_KEY_RSA`] (PEM, PKCS#1, no
/// passphrase), as Vagrant ships it (`keys/vagrant`). Every Vagrant
/// release logs in to a new box with it.
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

/// The private half of [`INSECURE_PUBLIC_KEY_ED25519`] (OpenSSH format,
/// no passphrase), as Vagrant ships it (`keys/vagrant.key.ed25519`).
pub const INSECURE_PRIVATE_KEY_ED25519: &str = "\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDdWHcQaTZc8Q6nycsP0CqMNRfsLxvYVxqKosrHyTp+WAAAAJj2TBMT9kwT
EwAAAAtzc2gtZWQyNTUxOQAAACDdWHcQaTZc8Q6nycsP0CqMNRfsLxvYVxqKosrHyTp+WA
AAAEAveRHRHSCjIxbNKHDRzezD0U3R3UEEmS7R33fzvPQAD91YdxBpNlzxDqfJyw/QKow1
F+wvG9hXGoqiysfJOn5YAAAAEHNwb3hAdmFncmFudC1kZXYBAgMEBQ==
-----END OPENSSH PRIVATE KEY-----
";

#[cfg(test)]
mod tests {
    use super::*;

    /// The key part (`TYPE BASE64`) of an authorized_keys line.
    fn key_part(line: &str) -> String {
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn each_private_key_is_the_pair_of_its_public_key() {
        let tmp = tempfile::tempdir().unwrap();
        for (private, public) in [
            (INSECURE_PRIVATE_KEY, INSECURE_PUBLIC_KEY_RSA),
            (INSECURE_PRIVATE_KEY_ED25519, INSECURE_PUBLIC_KEY_ED25519),
        ] {
            let path = tmp.path().join("key");
            crate::files::write_atomic(&path, private.as_bytes(), crate::files::PRIVATE_FILE)
                .unwrap();
            let out = crate::process::Cmd::new("ssh-keygen")
                .args(["-y", "-f"])
                .arg(&path)
                .run()
                .unwrap();
            assert_eq!(key_part(&out.stdout), key_part(public));
            assert!(public.ends_with(" vagrant insecure public key"), "{public}");
        }
        assert_eq!(
            INSECURE_PUBLIC_KEYS,
            [INSECURE_PUBLIC_KEY_RSA, INSECURE_PUBLIC_KEY_ED25519]
        );
    }
}
