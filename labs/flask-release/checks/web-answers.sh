#!/usr/bin/env bash
# prod and preprod answer through nginx: /healthz is 200, the answer comes
# from nginx (Server header) on the node itself (X-Served-By), and the
# app's page behind it renders.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
seen=()
for node in $WEB_NODES; do
	headers=$(curl -fsS -m 10 -D - -o /dev/null "http://$node/healthz" | tr -d '\r') ||
		fail "GET http://$node/healthz did not answer 200"
	server=$(awk -F': ' 'tolower($1)=="server" {print $2}' <<<"$headers")
	by=$(awk -F': ' 'tolower($1)=="x-served-by" {print $2}' <<<"$headers")
	[[ $server == nginx* ]] || fail "http://$node/healthz answered without nginx (Server: '${server:-none}')"
	[[ $by = "$node" ]] || fail "http://$node/healthz was served by '${by:-nobody}', not $node"
	page=$(curl -fsS -m 10 "http://$node/") || fail "GET http://$node/ did not answer 200"
	title=$(grep -o '<h1>[^<]*</h1>' <<<"$page" | sed 's/<[^>]*>//g') || fail "http://$node/ has no <h1>"
	seen+=("$node: 200 from $server ('$title')")
done
printf '%s\n' "${seen[@]}"
