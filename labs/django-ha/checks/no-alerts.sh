#!/usr/bin/env bash
# No alert is firing, and the lab's rules are loaded.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
base="http://$MONITORING:9090/api/v1"
rules=$(curl -fsS -m 5 "$base/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
print(sum(len(g["rules"]) for g in groups))
') || fail "cannot read the rules from Prometheus"
[ "$rules" -gt 0 ] || fail "Prometheus has no alert rules loaded"
curl -fsS -m 5 "$base/alerts" | python3 -c '
import json, sys
alerts = [a for a in json.load(sys.stdin)["data"]["alerts"] if a["state"] == "firing"]
if alerts:
    sys.exit("FAIL: firing: " + "; ".join(
        a["labels"]["alertname"] + " " + a["labels"].get("instance", "") for a in alerts))
' || exit 1
echo "no alert firing ($rules rules loaded)"
