#!/usr/bin/env bash
# The app answers 200 through HAProxy on the edge node, and both app nodes
# take turns (round robin) in answering.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
seen=""
for _ in 1 2 3 4; do
	headers=$(curl -fsS -m 5 -D - -o /dev/null "http://$EDGE/healthz") ||
		fail "GET http://$EDGE/healthz did not answer 200"
	node=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-served-by" {print $2}')
	seen="$seen $node"
done
for node in $APP_NODES; do
	case " $seen " in *" $node "*) ;; *) fail "$node never answered through $EDGE (answers from:$seen)" ;; esac
done
# Pages that render templates (time zones, static files) too.
for path in / /admin/login/ /static/admin/js/vendor/jquery/jquery.min.js; do
	curl -fsS -m 10 -o /dev/null "http://$EDGE$path" || fail "GET http://$EDGE$path did not answer 200"
done
echo "200 from $EDGE (healthz, pages, admin, static), answered by:$seen"
