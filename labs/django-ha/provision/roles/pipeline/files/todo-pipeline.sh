#!/usr/bin/env bash
# todo-pipeline pre-receive|post-receive: the delivery pipeline of the
# django-ha lab, run by the hooks of the app's bare repository on control1
# (installed by the pipeline role as /usr/local/bin/todo-pipeline; settings
# in /etc/todo-pipeline.conf). Reads the hook's "OLD NEW REF" lines; acts on
# the branch $BRANCH only.
#
#   pre-receive   the pushed commit's tests (DB_ENGINE=sqlite python3
#                 manage.py test, in a container of the base image), then the
#                 app image built once (the app's Dockerfile on the base
#                 image), tagged with the commit and pushed to the registry.
#                 Any failure refuses the push: the branch only ever points
#                 at a commit whose tests passed and whose image is in the
#                 registry.
#   post-receive  the rollout, node by node: pull the image on the node,
#                 drain the node in HAProxy (runtime API on the edge node)
#                 until it has no session, maintenance, replace the
#                 container (todo-run, as the app role runs it), wait for
#                 /healthz 200 on the node, back to ready, wait until HAProxy
#                 has it UP; then the next node.
#
# Output goes to the pusher (git prints it as "remote: ...") and to $LOG.
set -euo pipefail

CONF=${TODO_PIPELINE_CONF:-/etc/todo-pipeline.conf}
# shellcheck source=/dev/null
. "$CONF"
: "${REPO:?} ${BRANCH:?} ${IMAGE:?} ${REGISTRY:?} ${BASE_IMAGE:?} ${APP_NODES:?} ${APP_PORT:?}"
: "${EDGE:?} ${BACKEND:?} ${SSH_USER:?} ${SSH_KEY:?} ${KNOWN_HOSTS:?} ${LOG:?}"
ZERO=0000000000000000000000000000000000000000
MANIFEST=application/vnd.docker.distribution.manifest.v2+json
STAGE=${1:-}
case $STAGE in
pre-receive | post-receive) ;;
*)
	echo "usage: todo-pipeline pre-receive|post-receive (reads OLD NEW REF lines)" >&2
	exit 2
	;;
esac


log() { printf '%s pipeline: %s\n' "$(date -u +%FT%TZ)" "$*"; }
die() {
	log "FAILED: $*"
	exit 1
}

# on NODE CMD...: CMD on NODE over SSH, with the lab's internal key and the
# host keys lab pinned (checked). Not its stdin: the hook's lines.
on() {
	local node=$1
	shift
	ssh -n -i "$SSH_KEY" -o IdentitiesOnly=yes -o "UserKnownHostsFile=\"$KNOWN_HOSTS\"" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 \
		-o LogLevel=ERROR "$SSH_USER@$node" "$@"
}

in_registry() { # TAG: the app image with TAG is in the registry
	curl -fsS -o /dev/null -I -H "Accept: $MANIFEST" "http://$REGISTRY/v2/${IMAGE#*/}/manifests/$1"
}

# --- pre-receive: test, build, push ---------------------------------------------

build() {
	local rev=$1 tag=${1:0:12} work
	local image=$IMAGE:$tag
	work=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	mkdir "$work/src"
	git archive "$rev" | tar -x -C "$work/src"
	chmod -R a+rX "$work/src"

	log "$tag: tests (DB_ENGINE=sqlite python3 manage.py test, in $BASE_IMAGE)"
	local t0=$SECONDS
	if ! docker run --rm --network none --user 65534:65534 -v "$work/src:/src:ro" \
		-e DB_ENGINE=sqlite -e PYTHONDONTWRITEBYTECODE=1 "$BASE_IMAGE" \
		sh -c 'cp -r /src /tmp/app && cd /tmp/app && exec python3 manage.py test --noinput -v 1'; then
		die "$tag: tests failed: push refused, nothing deployed"
	fi
	log "$tag: tests passed in $((SECONDS - t0)) s"

	t0=$SECONDS
	log "$tag: build $image (the app's Dockerfile on $BASE_IMAGE)"
	docker build -q --pull=false --build-arg "BASE=$BASE_IMAGE" -t "$image" "$work/src" ||
		die "$tag: image build failed: push refused"
	log "$tag: push $image"
	docker push -q "$image" || die "$tag: push to the registry failed: push refused"
	log "$tag: image built and pushed in $((SECONDS - t0)) s"
}

# --- post-receive: roll out node by node ------------------------------------------

edge() { on "$EDGE" sudo /usr/local/sbin/haproxy-admin "$@"; }

# shellcheck disable=SC2317 # (called through wait_for)
# server_stat NODE: "SESSIONS STATUS" of NODE in HAProxy's backend.
server_stat() {
	edge show stat | awk -F, -v b="$BACKEND" -v s="$1" '$1 == b && $2 == s { print $5, $18 }'
}

# The nodes imported the same base tarball as this node: its layer is
# already theirs. Docker would still download and unpack it (minutes under
# emulation) because it only knows a layer's registry digest after pulling
# it; this tells each node's Docker that digest (its distribution metadata,
# diffid-by-digest), so the pull fetches the app's layers only. Best effort:
# without it, the pull is only slower.
seed_base_layer() {
	local image=$1 node diff digest dir
	diff=$(docker image inspect --format '{{index .RootFS.Layers 0}}' "$BASE_IMAGE") || return 0
	[[ $(docker image inspect --format '{{index .RootFS.Layers 0}}' "$image") == "$diff" ]] || return 0
	digest=$(curl -fsS -H "Accept: $MANIFEST" "http://$REGISTRY/v2/${IMAGE#*/}/manifests/${image##*:}" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["layers"][0]["digest"])') || return 0
	[[ $digest =~ ^sha256:[0-9a-f]{64}$ && $diff =~ ^sha256:[0-9a-f]{64}$ ]] || return 0
	# (Every value below is one word: ssh joins its arguments with spaces.)
	for node in $APP_NODES; do
		[[ $(on "$node" "docker image inspect --format '{{index .RootFS.Layers 0}}' $BASE_IMAGE") == "$diff" ]] ||
			continue
		dir=$(on "$node" "docker info --format '{{.DockerRootDir}}/image/{{.Driver}}/distribution/diffid-by-digest/sha256'") ||
			continue
		on "$node" "test -e $dir/${digest#sha256:} || { sudo mkdir -p $dir && printf %s $diff | sudo tee $dir/${digest#sha256:} >/dev/null; }" ||
			log "$node: could not seed the base layer (the pull fetches it)"
	done
}

wait_for() { # SECONDS WHAT CMD...: until CMD succeeds, at most SECONDS
	local limit=$1 what=$2 t0=$SECONDS
	shift 2
	until "$@"; do
		((SECONDS - t0 < limit)) || die "$what: not within $limit s"
		sleep 1
	done
}

# shellcheck disable=SC2317
no_sessions() { [[ $(server_stat "$1") == "0 "* ]]; }
# shellcheck disable=SC2317
is_up() { [[ $(server_stat "$1") == *" UP"* ]]; }
# shellcheck disable=SC2317
healthy() { curl -fsS -m 5 -o /dev/null "http://$1:$APP_PORT/healthz"; }

deploy() {
	local rev=$1 tag=${1:0:12} node t0 first=1
	local image=$IMAGE:$tag
	local start=$SECONDS
	in_registry "$tag" || die "$tag: $image is not in the registry (was the pre-receive hook there?)"
	seed_base_layer "$image"
	for node in $APP_NODES; do
		t0=$SECONDS
		log "$node: pull $image"
		on "$node" sudo docker pull -q "$image" >/dev/null || die "$node: pull failed"
		log "$node: drain in HAProxy ($EDGE)"
		edge set server "$BACKEND/$node" state drain >/dev/null
		wait_for 60 "$node: sessions gone" no_sessions "$node"
		edge set server "$BACKEND/$node" state maint >/dev/null
		log "$node: replace the container"
		on "$node" sudo /usr/local/sbin/todo-run "$image"
		if ((first)); then
			log "$node: database migrations (they replicate)"
			on "$node" sudo docker exec todo python3 manage.py migrate --noinput ||
				die "$node: migrations failed (the node stays in maintenance)"
			first=0
		fi
		wait_for 180 "$node: /healthz 200" healthy "$node"
		edge set server "$BACKEND/$node" state ready >/dev/null
		wait_for 60 "$node: UP in HAProxy" is_up "$node"
		log "$node: serves $tag, UP in HAProxy ($((SECONDS - t0)) s)"
	done
	log "$tag: deployed on $APP_NODES in $((SECONDS - start)) s"
}

main() {
	# One pipeline stage at a time.
	exec 9>>"$(dirname "$LOG")/lock"
	flock -w 1800 9
	local old new ref
	while read -r old new ref; do
		[[ $ref == "refs/heads/$BRANCH" ]] || continue
		if [[ $new == "$ZERO" ]]; then
			[[ $STAGE == pre-receive ]] && die "$BRANCH cannot be deleted"
			continue
		fi
		log "$STAGE $ref ${old:0:12} -> ${new:0:12}"
		case $STAGE in
		pre-receive) build "$new" ;;
		post-receive) deploy "$new" ;;
		esac
	done
}

# To the pusher and to the log.
main 2>&1 | tee -a "$LOG"
exit "${PIPESTATUS[0]}"
