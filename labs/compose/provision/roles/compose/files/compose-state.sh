#!/usr/bin/env bash
# compose-state.sh DIR: is the compose project in DIR as its compose file
# says? One line per service: db and app running (db healthy), setup exited
# 0, each container made from the file's current configuration (Compose's
# config-hash label against `docker-compose config --hash`). Exit 0 when
# all are, 1 when `docker-compose up -d` has something to do (the lines say
# what). Used by the compose role to run `up` only then (a second
# `lab provision` changes nothing), and by the checks.
set -euo pipefail
cd "${1:?usage: compose-state.sh DIR}"
# One docker-compose call (`config --hash`): its Python start costs about a
# minute under emulation on a loaded host; the containers are looked up
# with the docker CLI by Compose's labels instead.
project=${COMPOSE_PROJECT_NAME:-$(sed -n 's/^COMPOSE_PROJECT_NAME=//p' .env 2>/dev/null)}
project=${project:-$(basename "$PWD")}
stale=0
while read -r service want; do
	[[ -n $service ]] || continue
	ids=$(docker ps -aq --filter "label=com.docker.compose.project=$project" \
		--filter "label=com.docker.compose.service=$service" \
		--filter "label=com.docker.compose.oneoff=False" 2>/dev/null || true)
	if [[ -z $ids ]]; then
		echo "$service: no container"
		stale=1
		continue
	fi
	if [[ $(wc -w <<<"$ids") -ne 1 ]]; then
		echo "$service: $(wc -w <<<"$ids") containers"
		stale=1
		continue
	fi
	read -r have status exit_code health < <(docker inspect -f \
		'{{index .Config.Labels "com.docker.compose.config-hash"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' "$ids")
	problem=""
	[[ $have = "$want" ]] || problem="made from an older configuration"
	case $service in
	setup) [[ $status = exited && $exit_code = 0 ]] || problem="${problem:+$problem, }$status (exit code $exit_code), not exited 0" ;;
	*) [[ $status = running ]] || problem="${problem:+$problem, }$status, not running" ;;
	esac
	if [[ -n $problem ]]; then
		echo "$service: $problem"
		stale=1
	else
		echo "$service: current ($status, health $health, exit code $exit_code)"
	fi
done < <(docker-compose config --hash='*')
exit "$stale"
