#!/usr/bin/env bash
# Every server of HAProxy's app backend is UP (stats page, CSV).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
csv=$(curl -fsS -m 5 -u "admin:$(secret haproxy_stats_password)" "http://$EDGE:8404/stats;csv") ||
	fail "cannot read the HAProxy stats of $EDGE"
printf '%s\n' "$csv" | python3 -c '
import csv, sys
rows = [r for r in csv.DictReader(l.lstrip("# ") for l in sys.stdin)
        if r["pxname"] == "app" and r["svname"] not in ("FRONTEND", "BACKEND")]
down = ["%s=%s" % (r["svname"], r["status"]) for r in rows if not r["status"].startswith("UP")]
if len(rows) < 2 or down:
    sys.exit(f"FAIL: app servers not UP: {down or rows}")
print("app servers UP:", ", ".join(r["svname"] for r in rows))
'
