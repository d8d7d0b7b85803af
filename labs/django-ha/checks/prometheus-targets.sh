#!/usr/bin/env bash
# Every Prometheus target is up.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
curl -fsS -m 5 "http://$MONITORING:9090/api/v1/targets?state=active" | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
down = ["%s/%s: %s" % (t["labels"]["job"], t["labels"]["instance"], t["lastError"] or t["health"])
        for t in targets if t["health"] != "up"]
if not targets or down:
    sys.exit("FAIL: targets not up: " + ("; ".join(down) or "no targets"))
print(len(targets), "targets up:", " ".join(sorted({t["labels"]["job"] for t in targets})))
'
