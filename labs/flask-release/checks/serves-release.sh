#!/usr/bin/env bash
# serves-release.sh prod|preprod: the node serves what the repository says
# it should: prod the newest release tag, preprod the head of the branch
# preprod (version from the commit's VERSION file, and the commit itself).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
node=${1:?usage: serves-release.sh prod|preprod}
case $node in
prod)
	ref=$(newest_tag)
	[[ -n $ref ]] || fail "the repository $REPO has no release tag"
	what="the newest release tag $ref"
	;;
preprod)
	ref=$PREPROD_BRANCH
	what="the head of the branch $ref"
	;;
*) fail "unknown node $node (prod or preprod)" ;;
esac
want_version=$(git_repo show "$ref:VERSION") || fail "cannot read VERSION of $ref in $REPO"
want_commit=$(git_repo rev-parse "$ref^{commit}")
got=$(curl -fsS -m 10 "http://$node/version") || fail "GET http://$node/version did not answer 200"
version=$(field "$got" version)
revision=$(field "$got" revision)
release=$(field "$got" release)
[[ $version = "$want_version" ]] ||
	fail "$node serves version $version (release $release), $what is $want_version"
[[ $revision = "$want_commit" ]] ||
	fail "$node serves commit ${revision:0:12} (release $release), $what is ${want_commit:0:12}"
echo "$node serves $version from release $release (commit ${revision:0:12}) = $what"
