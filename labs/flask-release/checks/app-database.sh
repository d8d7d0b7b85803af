#!/usr/bin/env bash
# The app reaches its database on both servers: /db writes a row (a visit)
# into the stage's PostgreSQL database and reads the count back; a second
# call must see one more.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
for node in $WEB_NODES; do
	first=$(curl -fsS -m 15 "http://$node/db") || fail "GET http://$node/db did not answer 200 (database unreachable?)"
	second=$(curl -fsS -m 15 "http://$node/db") || fail "the second GET http://$node/db did not answer 200"
	a=$(field "$first" visits) b=$(field "$second" visits)
	db=$(field "$second" database)
	[[ $db == PostgreSQL* ]] || fail "$node's app uses '$db', not PostgreSQL"
	[[ $b -gt $a ]] || fail "$node: visits did not grow ($a, then $b): the write was not read back"
	echo "$node: $db, visits $a -> $b"
done
