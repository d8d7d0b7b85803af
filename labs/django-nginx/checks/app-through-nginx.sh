#!/usr/bin/env bash
# The app answers through nginx on :80: /healthz (JSON, from the gunicorn
# port the supervisor program names), the HTML page, a note written through
# the API and read back, and the stylesheet served by nginx itself.
# Timeouts are generous: on an emulated guest sharing busy host cores a
# page has taken over 10 s.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
port=$(program_port)
[[ -n $port ]] || fail "no gunicorn port in $PROGRAM_FILE"
headers=$(curl -fsS -m 60 -D - -o /tmp/healthz.$$ http://127.0.0.1/healthz) ||
	fail "GET http://127.0.0.1/healthz (nginx) did not answer 200"
body=$(cat /tmp/healthz.$$)
rm -f /tmp/healthz.$$
server=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="server" {print $2}')
[[ $server == nginx* ]] || fail "/healthz was not answered through nginx (Server: '$server')"
seen_port=$(printf '%s' "$body" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["port"])') ||
	fail "/healthz answered no JSON: $body"
[[ $seen_port = "ok $port" ]] || fail "/healthz says '$seen_port', expected 'ok $port' (the program's port)"
curl -fsS -m 60 http://127.0.0.1/ | grep -q '<h1>Notes</h1>' || fail "GET / did not show the notes page"
text="check-$(date +%s)-$$"
id=$(curl -fsS -m 60 -H 'Content-Type: application/json' -d "{\"text\": \"$text\"}" http://127.0.0.1/api/notes/ |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "POST /api/notes/ failed"
curl -fsS -m 60 http://127.0.0.1/api/notes/ | grep -q "\"$text\"" || fail "note $id written through nginx was not read back"
css=$(curl -fsS -m 60 -D - -o /dev/null http://127.0.0.1/static/notes/style.css | tr -d '\r') ||
	fail "GET /static/notes/style.css did not answer 200"
grep -qi '^X-Gunicorn-Port:' <<<"$css" && fail "the stylesheet came from gunicorn, not from nginx's static files"
echo "through nginx ($server): /healthz ok from gunicorn port $port; page shown; note $id written and read back; /static/ served by nginx"
