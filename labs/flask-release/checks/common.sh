# shellcheck shell=bash disable=SC2034
# Sourced by the checks. They run on db (`lab verify`, as root), from the
# copy the checks role puts in /usr/local/lib/flask-release/checks; db
# holds the app's repository and reaches prod and preprod by name.
set -euo pipefail
APP=flask-release
REPO=${LAB_REPO:-/srv/git/$APP.git}
WEB_NODES=${LAB_WEB_NODES:-"prod preprod"}
PREPROD_BRANCH=${LAB_PREPROD_BRANCH:-preprod}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# git ARGS...: git in the repository, as its owner (git refuses a
# repository another user owns).
git_repo() {
	runuser -u git -- git -C "$REPO" "$@"
}

# newest_tag: the repository's newest release tag (v*, version order).
newest_tag() {
	git_repo tag --list 'v[0-9]*' --sort=-v:refname | head -n1
}

# field JSON NAME: one field of a JSON object.
field() {
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
