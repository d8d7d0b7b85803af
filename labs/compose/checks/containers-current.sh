#!/usr/bin/env bash
# Every service is as the compose file says: db and app running (db
# healthy), setup exited 0, all made from the file's current configuration.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
out=$("$COMPOSE_DIR/compose-state.sh" "$COMPOSE_DIR") || fail "the project is not as its compose file says: $(tr '\n' ';' <<<"$out")"
health=$(docker inspect -f '{{.State.Health.Status}}' "$(ids db)")
[[ $health = healthy ]] || fail "the db container is $health, not healthy"
tr '\n' ';' <<<"$out"; echo
