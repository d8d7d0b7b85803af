#!/usr/bin/env bash
# nothing-left.sh [PROJECT]: after the teardown, no container, network or
# volume of the compose project is left (Compose labels everything it makes
# with com.docker.compose.project), and nothing listens on the app's port.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
PROJECT=${1:-$PROJECT}
label=com.docker.compose.project=$PROJECT
containers=$(docker ps -aq --filter "label=$label")
networks=$(docker network ls -q --filter "label=$label")
volumes=$(docker volume ls -q --filter "label=$label")
left=""
[[ -z $containers ]] || left="$left containers: $(docker ps -a --filter "label=$label" --format '{{.Names}} ({{.Status}})' | tr '\n' ' ')"
[[ -z $networks ]] || left="$left networks: $(docker network ls --filter "label=$label" --format '{{.Name}}' | tr '\n' ' ')"
[[ -z $volumes ]] || left="$left volumes: $(tr '\n' ' ' <<<"$volumes")"
# Also by name, in case labels were lost.
docker volume inspect "${PROJECT}_dbdata" >/dev/null 2>&1 && left="$left volume ${PROJECT}_dbdata"
docker network inspect "${PROJECT}_default" >/dev/null 2>&1 && left="$left network ${PROJECT}_default"
[[ -z $left ]] || fail "left of project $PROJECT:$left"
if curl -s -m 5 -o /dev/null "$APP_URL/healthz"; then
	fail "something still answers on $APP_URL"
fi
echo "nothing of project $PROJECT left: 0 containers, 0 networks, 0 volumes; nothing answers on $APP_URL"
