#!/usr/bin/env bash
# drill.sh: the django-nginx lab's drill, on a lab that is up and
# provisioned. Run by lab's scripts/e2e-lab (phase 5) in this directory with
# $LAB = the lab binary; by hand: LAB=lab bash drill.sh (inside
# scripts/sandbox where the lab runs there). Lines "FIGURE name: value" are
# figures; exits non-zero at the first thing that does not hold.
#
#  (a) port conflict: our program stopped, a squatter (python3 -m
#      http.server under systemd-run) on gunicorn's port 8000; `lab
#      provision` reports the conflict and puts gunicorn on 8001 (program
#      and nginx upstream); the app answers through nginx from 8001,
#      supervisor says RUNNING, the squatter still holds 8000; a second
#      provision changes nothing (our gunicorn on 8001 is no conflict); the
#      squatter removed, the next provision moves gunicorn back to 8000.
#  (b) drift: a hand edit of the nginx site is reported as DRIFT by `lab
#      provision` and undone; the sites-enabled link removed (and nginx
#      reloaded, so the app is really gone from :80) is reported and made
#      again; the app answers after each.
set -euo pipefail
LAB=${LAB:-lab}
NODE=web1
PORT=8000
APP=notes
SITE=/etc/nginx/sites-available/$APP
LINK=/etc/nginx/sites-enabled/$APP
CHECKS=/usr/local/lib/django-nginx/checks

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '%s drill: %s\n' "$(date +%T)" "$*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
on() { "$LAB" ssh "$NODE" -- "$1"; }

ip=$("$LAB" status --json | python3 -c 'import json,sys; print(next(n["ip"] for n in json.load(sys.stdin)["nodes"] if n["node"] == sys.argv[1]))' "$NODE")
# health: "STATUS PORT" of /healthz through nginx on the node's lab address
# (from here, as a user of the lab would see it), or "down CODE".
health() {
	local body
	body=$(curl -s -m 60 -w '\n%{http_code}' "http://$ip/healthz" || true)
	if [[ ${body##*$'\n'} = 200 ]]; then
		python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["status"], d["port"])' "${body%$'\n'*}"
	else
		echo "down ${body##*$'\n'}"
	fi
}
# provision NAME: lab provision --json; the output in $OUT/NAME.json and the
# provision log's copy in $OUT/NAME.log; prints the seconds it took.
OUT=$(mktemp -d /tmp/django-nginx-drill.XXXXXX)
provision() {
	local t
	t=$(now)
	"$LAB" provision --json >"$OUT/$1.json" 2>"$OUT/$1.err" || { tail -20 "$OUT/$1.err" >&2; fail "lab provision ($1) failed"; }
	cp .lab/provision.log "$OUT/$1.log"
	elapsed "$t"
}
changed() { python3 -c 'import json,sys; print(sum(h["changed"] for h in json.load(open(sys.argv[1]))["hosts"]))' "$OUT/$1.json"; }
# wants_port PORT: the app answers through nginx from gunicorn on PORT, the
# program is RUNNING and holds it (the lab's own checks, run on the node).
wants_port() {
	local h
	h=$(health)
	[[ $h = "ok $1" ]] || fail "/healthz through nginx: '$h', expected 'ok $1'"
	on "sudo bash $CHECKS/supervisor-running.sh" || fail "supervisor check"
	on "sudo bash $CHECKS/app-through-nginx.sh" || fail "app check"
}
say "logs in $OUT"
[[ $(health) = "ok $PORT" ]] || fail "before the drill the app does not answer from port $PORT: $(health)"

# ------------------------------------------------------ (a) port conflict
say "(a) stopping our program and putting a squatter on port $PORT"
on "sudo supervisorctl stop $APP && sudo mkdir -p /run/squatter && sudo systemd-run --unit=squatter --collect --quiet python3 -m http.server --bind 127.0.0.1 $PORT --directory /run/squatter" ||
	fail "cannot start the squatter"
for _ in $(seq 60); do on "ss -Hltn 'sport = :$PORT' | grep -q ." && break; sleep 1; done
on "sudo ss -Hltnp 'sport = :$PORT'" | grep -q python3 || fail "the squatter does not listen on $PORT"
say "lab provision with the squatter on $PORT"
secs=$(provision conflict)
grep -q "PORT CONFLICT: port $PORT is taken" "$OUT/conflict.log" || fail "the provision log does not report the port conflict"
grep -o 'PORT CONFLICT[^"]*' "$OUT/conflict.log" | head -1
wants_port $((PORT + 1))
on "curl -fsS -m 5 -o /dev/null http://127.0.0.1:$PORT/ && sudo ss -Hltnp 'sport = :$PORT' | grep -q python3" ||
	fail "the squatter no longer holds $PORT"
on "grep -q 'server 127.0.0.1:$((PORT + 1));' $SITE" || fail "nginx's upstream is not $((PORT + 1))"
echo "FIGURE port conflict: provision to gunicorn on $((PORT + 1)): $secs s (app answers through nginx, RUNNING)"

say "lab provision again with the squatter still there: nothing to change"
secs=$(provision conflict-again)
[[ $(changed conflict-again) = 0 ]] || fail "the provision after the conflict changed $(changed conflict-again) thing(s)"
grep -q "PORT CONFLICT" "$OUT/conflict-again.log" || fail "the second provision no longer reports the squatter"
wants_port $((PORT + 1))
echo "FIGURE port conflict: second provision: $secs s, changed=0 (our gunicorn on $((PORT + 1)) is no conflict)"

say "removing the squatter; lab provision moves gunicorn back to $PORT"
on "sudo systemctl stop squatter"
secs=$(provision conflict-gone)
grep -q "PORT CONFLICT" "$OUT/conflict-gone.log" && fail "a conflict is still reported without the squatter"
wants_port $PORT
echo "FIGURE port conflict gone: provision back to $PORT: $secs s"

# -------------------------------------------------------------- (b) drift
say "(b) editing the nginx site by hand"
on "sudo sed -i 's/client_max_body_size 1m;/client_max_body_size 64m;/' $SITE && grep -q 64m $SITE" ||
	fail "cannot edit $SITE"
on "sudo bash $CHECKS/nginx-site.sh" 2>/dev/null && fail "the nginx-site check passed on an edited site"
secs=$(provision drift-edit)
grep -q "DRIFT: the nginx site $SITE was changed on the node" "$OUT/drift-edit.log" ||
	fail "the provision log does not report the edited site as drift"
grep -o 'DRIFT: [^"]*' "$OUT/drift-edit.log" | head -1
grep -q '^\[ansible\] -    client_max_body_size 64m;' "$OUT/drift-edit.log" || fail "the provision log does not show the diff"
on "sudo bash $CHECKS/nginx-site.sh" || fail "the site is not repaired"
on "! grep -q 64m $SITE" || fail "the hand edit is still in $SITE"
[[ $(health) = "ok $PORT" ]] || fail "the app does not answer after the repair: $(health)"
echo "FIGURE drift (hand edit): provision reported and repaired it: $secs s"

say "removing the site's sites-enabled link (and reloading nginx: the app is gone from :80)"
on "sudo rm $LINK && sudo systemctl reload nginx"
sleep 2
h=$(health)
[[ $h == down* ]] || fail "the app still answers through nginx without its site: $h"
say "without the link: /healthz $h"
t=$(now)
secs=$(provision drift-link)
grep -q "DRIFT: the nginx site is not enabled: $LINK is missing" "$OUT/drift-link.log" ||
	fail "the provision log does not report the missing link as drift"
grep -o 'DRIFT: [^"]*' "$OUT/drift-link.log" | head -1
on "sudo bash $CHECKS/nginx-site.sh" || fail "the link is not repaired"
until [[ $(health) = "ok $PORT" ]]; do
	awk -v a="$t" -v b="$(now)" 'BEGIN { exit !(b - a > 300) }' && fail "the app does not answer after the link was repaired: $(health)"
	sleep 1
done
echo "FIGURE drift (link removed): provision reported and repaired it: $secs s (app back $(elapsed "$t") s after the provision started)"

say "lab verify"
t=$(now)
"$LAB" verify >"$OUT/verify.log" 2>&1 || { cat "$OUT/verify.log"; fail "lab verify failed after the drill"; }
echo "FIGURE lab verify after the drill: $(elapsed "$t") s"
say "passed (logs in $OUT)"
