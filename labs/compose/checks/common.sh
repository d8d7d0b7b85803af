# shellcheck shell=bash disable=SC2034
# Sourced by the checks. The compose role installs them on the VM in
# /opt/notes/checks (beside the compose project) and `lab verify` runs them
# there as root; each prints what it saw, or "FAIL: why" (exit 1).
set -euo pipefail
PROJECT=${COMPOSE_PROJECT:-notes}
COMPOSE_DIR=${COMPOSE_DIR:-/opt/$PROJECT}
APP_URL=${APP_URL:-http://127.0.0.1}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# dc ARGS...: docker-compose on the lab's project.
dc() {
	docker-compose --project-directory "$COMPOSE_DIR" -p "$PROJECT" -f "$COMPOSE_DIR/docker-compose.yml" "$@"
}

# json EXPR: evaluates the Python expression EXPR with `d` = the JSON on stdin.
json() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
