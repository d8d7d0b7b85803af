#!/usr/bin/env bash
# The compose lab's drill (scripts/e2e-lab runs it in this directory with
# LAB = the lab binary; run it by hand the same way on a lab that is up:
# `LAB=lab bash drill.sh`). Lines "FIGURE name: value" are its figures.
#   1. a note written through the app survives `docker-compose down` and
#      `up -d` (the named volume keeps the database; setup runs once again
#      and exits 0);
#   2. the documented teardown (`lab provision --only teardown`) leaves no
#      container, network or volume of the project, and nothing answers;
#   3. `lab provision` brings the project back (a new, empty database: the
#      volume was removed) and `lab verify` passes.
set -euo pipefail
LAB=${LAB:-lab}
NODE=docker1
DIR=/opt/notes

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '%s drill: %s\n' "$(date +%T)" "$*"; }
fail() {
	say "FAIL: $*" >&2
	exit 1
}
on() { "$LAB" ssh "$NODE" -- "$@"; }
compose() { on "cd $DIR && sudo docker-compose $*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ip=$("$LAB" status --json | python3 -c 'import json,sys; print(next(n["ip"] for n in json.load(sys.stdin)["nodes"] if n["node"] == sys.argv[1]))' "$NODE")
url=http://$ip
get() { curl -fsS -m 10 "$url$1"; }
# healthy SECONDS: waits until /healthz answers 200; prints the seconds it took.
healthy() {
	local t
	t=$(now)
	until curl -fsS -m 5 -o /dev/null "$url/healthz" 2>/dev/null; do
		awk -v s="$1" -v a="$t" -v b="$(now)" 'BEGIN { exit !(b - a > s) }' && fail "$url/healthz did not answer 200 within $1 s"
		sleep 2
	done
	since "$t"
}

# ---- 1. data survives down && up
healthy 60 >/dev/null
text="drill $(date +%s)-$$"
id=$(curl -fsS -m 10 -H 'Content-Type: application/json' -d "{\"text\": \"$text\"}" "$url/api/notes" | json 'd["id"]') ||
	fail "POST $url/api/notes failed"
count_before=$(get /healthz | json 'd["notes"]')
say "wrote note $id ('$text'); $count_before notes"

say "docker-compose down"
t=$(now)
compose down
echo "FIGURE docker-compose down: $(since "$t") s"
if curl -s -m 5 -o /dev/null "$url/healthz"; then
	fail "the app still answers after docker-compose down"
fi
on "sudo docker volume inspect notes_dbdata >/dev/null" || fail "the named volume notes_dbdata is gone after a plain down"

say "docker-compose up -d"
t=$(now)
compose up -d
echo "FIGURE docker-compose up -d (db healthy, setup, app): $(since "$t") s"
waited=$(healthy 180)
echo "FIGURE app healthy after up returned: $waited s"
seen=$(get "/api/notes/$id" | json 'd["text"]') || fail "note $id is gone after down && up"
[[ $seen = "$text" ]] || fail "note $id reads '$seen' after down && up, not '$text'"
count_after=$(get /healthz | json 'd["notes"]')
[[ $count_after = "$count_before" ]] || fail "$count_before notes before down && up, $count_after after"
on "sudo $DIR/checks/setup-ran-once.sh" || fail "the setup container of the new up did not run once and exit 0"
say "note $id still there after down && up ($count_after notes)"
echo "FIGURE data after down && up: note $id kept, $count_after of $count_before notes"

# ---- 2. teardown: nothing of the project left
say "teardown: lab provision --only teardown"
t=$(now)
"$LAB" provision --only teardown >/dev/null
echo "FIGURE lab provision --only teardown: $(since "$t") s"
left=$(on "sudo $DIR/checks/nothing-left.sh notes") || fail "the teardown left something: $left"
say "$left"
echo "FIGURE after teardown: 0 containers, 0 networks, 0 volumes of project notes"

# ---- 3. back again
say "lab provision (bring the project back)"
t=$(now)
"$LAB" provision >/dev/null
echo "FIGURE lab provision after teardown: $(since "$t") s"
count_new=$(get /healthz | json 'd["notes"]')
[[ $count_new = 0 ]] || fail "the database came back with $count_new notes: the teardown did not remove its volume"
t=$(now)
"$LAB" verify >/dev/null || fail "lab verify failed after the project came back"
echo "FIGURE lab verify after bring-back: $(since "$t") s (passed; fresh database, 0 notes before the checks)"
say "passed"
