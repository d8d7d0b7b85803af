#!/usr/bin/env bash
# The delivery pipeline is in place (on control1): the app's repository with
# its hooks, the registry answering, and on every app node the container
# runs the image of main's head (the registry's image for it, same image
# id) or, before any push was deployed, the one provisioning built (then
# main is still the repository's first commit).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
CONF=${TODO_PIPELINE_CONF:-/etc/todo-pipeline.conf}
[[ -r $CONF ]] || fail "$CONF is missing: the pipeline role did not run"
# shellcheck source=/dev/null
. "$CONF"
: "${REPO:?} ${BRANCH:?} ${IMAGE:?} ${REGISTRY:?} ${APP_NODES:?} ${SSH_USER:?}"
MANIFEST=application/vnd.docker.distribution.manifest.v2+json

# git as the repository's owner (as root, git refuses a repository that
# belongs to another user).
git_() {
	if [[ $EUID -eq 0 ]]; then runuser -u "$SSH_USER" -- git "$@"; else git "$@"; fi
}
head=$(git_ --git-dir="$REPO" rev-parse --verify --quiet "refs/heads/$BRANCH") ||
	fail "$REPO has no branch $BRANCH"
commits=$(git_ --git-dir="$REPO" rev-list --count "$head")
for hook in pre-receive post-receive; do
	if [[ ! -x $REPO/hooks/$hook ]] || ! grep -q "todo-pipeline $hook" "$REPO/hooks/$hook"; then
		fail "$REPO/hooks/$hook does not run the pipeline"
	fi
done
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/") || true
[[ $code == 200 ]] || fail "the registry http://$REGISTRY/v2/ answered '$code'"

tag=${head:0:12}
want_id=
if manifest=$(curl -fsS -m 10 -H "Accept: $MANIFEST" "http://$REGISTRY/v2/${IMAGE#*/}/manifests/$tag" 2>/dev/null); then
	want_id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' <<<"$manifest")
fi
seen=""
for node in $APP_NODES; do
	running=$(on "$node" "docker inspect --format '{{.Config.Image}}@{{.Image}}@{{.State.Running}}' todo") ||
		fail "cannot inspect the app container on $node"
	IFS=@ read -r image id state <<<"$running"
	[[ $state == true ]] || fail "the app container on $node is not running"
	if [[ $image == "$IMAGE:"* ]]; then
		[[ $image == "$IMAGE:$tag" ]] || fail "$node runs $image, not main's head $tag"
		[[ -n $want_id ]] || fail "$node runs $image, which the registry does not have"
		[[ $id == "$want_id" ]] || fail "$node runs $image as $id, the registry has $want_id"
	else
		[[ $commits == 1 ]] || fail "$node runs $image (provisioning's), but main has $commits commits (head $tag): not deployed"
	fi
	seen="$seen $node=$image"
done
echo "repo $REPO main=$tag ($commits commits), hooks in place, registry $REGISTRY answers; running:$seen"
