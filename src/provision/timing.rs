//! Time per Ansible role, measured while `ansible-playbook`'s output
//! streams: the time from one task header (`TASK [role : name]`,
//! `RUNNING HANDLER [role : name]`) to the next header, `PLAY [..]` or
//! `PLAY RECAP` counts for that task's role. This is what Ansible's
//! `ansible.posix.profile_roles` callback sums, without needing that
//! collection or any callback configuration in the lab. Tasks outside
//! roles (a play's own `tasks:`, `Gathering Facts`) count as [`NO_ROLE`].

use std::time::Instant;

use serde::Serialize;

/// The name under which tasks that belong to no role are counted.
pub const NO_ROLE: &str = "(no role)";

/// Seconds spent in one role over a whole run (all its plays and hosts:
/// Ansible runs a task on every host before the next one starts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleTime {
    pub role: String,
    pub seconds: f64,
}

/// Sums the time per role; roles in the order they first ran.
#[derive(Debug, Default)]
pub struct RoleTimer {
    running: Option<(usize, Instant)>,
    roles: Vec<RoleTime>,
}

/// The role of a task header's text (`role : task`), or [`NO_ROLE`].
/// Ansible writes the role before ` : ` only for tasks of a role.
fn role_of(task: &str) -> &str {
    match task.split_once(" : ") {
        Some((role, _)) if !role.trim().is_empty() => role.trim(),
        _ => NO_ROLE,
    }
}

impl RoleTimer {
    /// A task (the text between the header's brackets) started at `at`.
    pub fn task(&mut self, task: &str, at: Instant) {
        self.stop(at);
        let role = role_of(task);
        let index = match self.roles.iter().position(|r| r.role == role) {
            Some(i) => i,
            None => {
                self.roles.push(RoleTime {
                    role: role.to_string(),
                    seconds: 0.0,
                });
                self.roles.len() - 1
            }
        };
        self.running = Some((index, at));
    }

    /// The running task, if any, ended at `at` (a new play, the recap, or
    /// the end of the output).
    pub fn stop(&mut self, at: Instant) {
        if let Some((index, since)) = self.running.take() {
            self.roles[index].seconds += at.saturating_duration_since(since).as_secs_f64();
        }
    }

    /// The sums so far (a task still running is not counted).
    pub fn roles(&self) -> &[RoleTime] {
        &self.roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, secs: u64) -> Instant {
        t0 + Duration::from_secs(secs)
    }

    #[test]
    fn each_task_counts_for_its_role_until_the_next_header() {
        let t0 = Instant::now();
        let mut t = RoleTimer::default();
        t.task("Gathering Facts", at(t0, 0));
        t.task("common : Install packages", at(t0, 2));
        t.task("common : Configure", at(t0, 10));
        t.stop(at(t0, 13)); // PLAY [next]
        t.task("mariadb : Install", at(t0, 14));
        t.task("common : Restart something", at(t0, 20));
        t.task("Play-level task", at(t0, 21));
        t.stop(at(t0, 25)); // PLAY RECAP
        t.stop(at(t0, 99)); // nothing running: no effect
        let got: Vec<(&str, f64)> = t
            .roles()
            .iter()
            .map(|r| (r.role.as_str(), r.seconds))
            .collect();
        assert_eq!(got, [(NO_ROLE, 6.0), ("common", 12.0), ("mariadb", 6.0)]);
    }

    #[test]
    fn a_task_name_without_a_role_prefix_is_no_role() {
        assert_eq!(role_of("haproxy : Reload haproxy"), "haproxy");
        assert_eq!(role_of("Gathering Facts"), NO_ROLE);
        assert_eq!(role_of(" : odd"), NO_ROLE);
    }
}
