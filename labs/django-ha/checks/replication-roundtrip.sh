#!/usr/bin/env bash
# replication-roundtrip.sh FROM TO: a to-do list written through the app on
# FROM is read through the app on TO within 10 s, then deleted on TO (and
# that deletion is seen back on FROM).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
from=${1:?usage: replication-roundtrip.sh FROM TO}
to=${2:?usage: replication-roundtrip.sh FROM TO}
name="check-$from-to-$to-$(date +%s)-$RANDOM"
count() {
	curl -fsS -m 5 "http://$1:$APP_PORT/api/lists/?name=$name" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["lists"]))'
}
id=$(curl -fsS -m 5 -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}" \
	"http://$from:$APP_PORT/api/lists/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
	fail "could not write a list through the app on $from"
for _ in $(seq 1 20); do
	if [ "$(count "$to")" = 1 ]; then
		curl -fsS -m 5 -X DELETE -o /dev/null "http://$to:$APP_PORT/api/lists/$id/" ||
			fail "read on $to, but could not delete it there"
		for _ in $(seq 1 20); do
			if [ "$(count "$from")" = 0 ]; then
				echo "list $id written on $from was read on $to; its deletion on $to reached $from"
				exit 0
			fi
			sleep 0.5
		done
		fail "the deletion on $to did not reach $from within 10 s"
	fi
	sleep 0.5
done
fail "list $id written on $from was not seen on $to within 10 s"
