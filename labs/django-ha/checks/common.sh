# shellcheck shell=bash disable=SC2034
# Sourced by the checks. They run on the controller (control1), as root
# (`lab verify`) or as the lab user, from anywhere: the lab directory is
# the one holding checks/, the lab user's home is the one above it.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_HOME=$(dirname "$LAB_DIR")
SECRETS=${LAB_SECRETS_FILE:-$LAB_DIR/.lab-secrets.json}
EDGE=${LAB_EDGE:-control2}
MONITORING=${LAB_MONITORING:-control2}
APP_NODES=${LAB_APP_NODES:-"node1 node2"}
DB_NODES=${LAB_DB_NODES:-"node1 node2"}
APP_PORT=8000

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# secret NAME: one value of lab_secrets from the secrets file.
secret() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lab_secrets"][sys.argv[2]])' "$SECRETS" "$1"
}

# on NODE CMD...: runs CMD on NODE over SSH with the lab's internal key,
# checking NODE's host key against the ones `lab up` pinned (lab writes
# them to ~/.ssh/lab_known_hosts on the controller). The path is in
# double quotes for OpenSSH, which splits option values into words.
on() {
	local node=$1
	shift
	ssh -i "${LAB_SSH_KEY:-$LAB_HOME/.ssh/lab_internal}" -o IdentitiesOnly=yes \
		-o "UserKnownHostsFile=\"${LAB_KNOWN_HOSTS:-$LAB_HOME/.ssh/lab_known_hosts}\"" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 \
		-o LogLevel=ERROR "lab@$node" "$@"
}
