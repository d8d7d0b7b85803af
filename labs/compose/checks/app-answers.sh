#!/usr/bin/env bash
# The app answers on :80 of the VM: /healthz says ok on PostgreSQL with the
# newest migration applied, and the page renders.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
health=$(curl -fsS -m 10 "$APP_URL/healthz") || fail "GET $APP_URL/healthz did not answer 200"
status=$(json 'd["status"]' <<<"$health")
engine=$(json 'd["engine"]' <<<"$health")
schema=$(json 'd["schema"]' <<<"$health")
[[ $status = ok ]] || fail "healthz says $health"
[[ $engine = postgres ]] || fail "the app runs on $engine, not postgres: $health"
[[ $schema != None ]] || fail "no migration applied: $health"
curl -fsS -m 10 "$APP_URL/" | grep -q '<h1>notes</h1>' || fail "GET $APP_URL/ did not render the notes page"
echo "200 from $APP_URL: healthz $health; page rendered"
