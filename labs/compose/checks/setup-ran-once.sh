#!/usr/bin/env bash
# The one-shot `setup` service (the migrations) ran once and succeeded: one
# container, exited with code 0, never restarted, restart policy "no", and
# its log says what it migrated.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
ids=$(ids setup)
[[ -n $ids ]] || fail "no setup container"
[[ $(wc -w <<<"$ids") -eq 1 ]] || fail "$(wc -w <<<"$ids") setup containers: $ids"
read -r status code restarts policy started finished < <(docker inspect -f \
	'{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}} {{.State.StartedAt}} {{.State.FinishedAt}}' "$ids")
[[ $status = exited ]] || fail "the setup container is $status, not exited"
[[ $code = 0 ]] || fail "the setup container exited with code $code: $(docker logs --tail 5 "$ids" 2>&1)"
[[ $restarts = 0 ]] || fail "the setup container was restarted $restarts times"
[[ $policy = no ]] || fail "the setup container's restart policy is $policy, not no"
log=$(docker logs "$ids" 2>&1)
grep -Eq '^(applied |no migrations to apply)' <<<"$log" || fail "the setup container's log says nothing of migrations: $log"
echo "setup ${ids:0:12}: exited 0, RestartCount 0, policy no, ran $started .. $finished; log: $(tr '\n' ';' <<<"$log")"
