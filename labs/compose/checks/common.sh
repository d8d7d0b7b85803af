# shellcheck shell=bash disable=SC2034
# Sourced by the checks. The compose role installs them on the VM in
# /opt/notes/checks (beside the compose project) and `lab verify` runs them
# there as root; each prints what it saw, or "FAIL: why" (exit 1).
set -euo pipefail
PROJECT=${COMPOSE_PROJECT:-notes}
COMPOSE_DIR=${COMPOSE_DIR:-/opt/$PROJECT}
APP_URL=${APP_URL:-http://127.0.0.1}
# docker-compose's wait for each Docker API call (60 s by default): dockerd
# under emulation can take longer (the project's .env says the same).
export COMPOSE_HTTP_TIMEOUT=${COMPOSE_HTTP_TIMEOUT:-600}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# ids SERVICE: the IDs of the project's containers of SERVICE (stopped
# ones too), found by Compose's labels with the docker CLI: docker-compose
# itself is a Python program whose start costs up to a minute under
# emulation on a loaded host.
ids() {
	docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
		--filter "label=com.docker.compose.service=$1" \
		--filter "label=com.docker.compose.oneoff=False"
}

# json EXPR: evaluates the Python expression EXPR with `d` = the JSON on stdin.
json() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
