#!/usr/bin/env bash
# drill.sh: the rollback drill, run by scripts/e2e-lab (phase 5) in this
# directory with LAB = the lab binary, inside the sandbox (this machine
# reaches the lab network). Or by hand: LAB=lab bash drill.sh
#
#  1. prod serves the newest release tag;
#  2. a request loop against prod (GET /version, one every 0.2 s, each may wait up to 100 s) runs
#     while `lab provision --only rollback` switches current to the
#     release before and restarts gunicorn: no request may fail;
#  3. afterwards prod serves the previous release tag;
#  4. `lab provision` rolls forward again (the loop still running: no
#     request may fail either), prod serves the newest tag, `lab verify`
#     passes.
# Lines "FIGURE name: value" are the drill's figures.
set -euo pipefail
LAB=${LAB:-lab}
say() { printf '%s drill: %s\n' "$(date +%T)" "$*"; }
fail() {
	say "FAIL: $*" >&2
	exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

prod=$("$LAB" status --json | json 'next(n["ip"] for n in d["nodes"] if n["node"] == "prod")')
# The repository's release tags, oldest first, as db has them.
mapfile -t tags < <("$LAB" ssh db -- sudo runuser -u git -- git -C /srv/git/flask-release.git tag --list "'v[0-9]*'" --sort=v:refname)
((${#tags[@]} >= 2)) || fail "the repository has fewer than two release tags (${tags[*]:-none}): nothing to roll back to"
newest=${tags[-1]} previous=${tags[-2]}
release() { curl -fsS -m 30 "http://$prod/version" | json 'd["release"] + " " + d["version"]'; }
serving=$(release) || fail "prod does not answer GET /version"
[[ ${serving%% *} = "$newest" ]] || fail "prod serves ${serving%% *} before the drill, not the newest tag $newest"
say "prod ($prod) serves $serving; tags: ${tags[*]}"

WORK=$(mktemp -d)
trap 'touch "$WORK/stop"; wait; rm -rf "$WORK"' EXIT
# loop FILE: GET /version until $WORK/stop exists (each may take up to 100 s:
# nginx waits 90 s for gunicorn); one line per request:
# "HTTP_CODE RELEASE SECONDS" (curl's code 000 = no answer at all).
loop() {
	local out code body
	while [[ ! -e $WORK/stop ]]; do
		out=$(curl -s -m 100 -w '\n%{http_code} %{time_total}' "http://$prod/version" 2>/dev/null || true)
		code=$(tail -n1 <<<"$out")
		body=$(head -n -1 <<<"$out")
		rel=$(json 'd["release"]' <<<"$body" 2>/dev/null || echo -)
		echo "${code%% *} $rel ${code#* }" >>"$1"
		sleep 0.2
	done
}
# summary FILE: "N requests, F failed, slowest S s, releases seen: A B"
summary() {
	awk '{ n++; if ($1 != "200") f++; if ($3 > m) m = $3; if (!seen[$2]++) r = r " " $2 }
		END { printf "%d requests, %d failed, slowest %.2f s, releases seen:%s\n", n, f, m, r }' "$1"
}
failed() { awk '$1 != "200"' "$1" | wc -l; }

# switch WHAT TAG LOG CMD...: runs CMD (a lab provision) with the request
# loop against prod writing LOG, waits until the loop has seen TAG answer a
# few times (at most 60 s more), stops the loop; no request may have
# failed, and prod must serve TAG afterwards. Prints WHAT's figures.
switch() {
	local what=$1 tag=$2 log=$3 t secs
	shift 3
	loop "$log" &
	sleep 2
	say "$what: $* (request loop against prod running)"
	t=$(now)
	"$@" >"$log.out" 2>&1 || { cat "$log.out"; fail "$what: $* failed"; }
	secs=$(elapsed "$t")
	t=$(now)
	until [[ $(awk -v r="$tag" '$1 == "200" && $2 == r' "$log" | wc -l) -ge 5 ]]; do
		awk -v a="$t" -v b="$(now)" 'BEGIN { exit !(b - a > 60) }' && break
		sleep 0.5
	done
	touch "$WORK/stop"
	wait
	rm -f "$WORK/stop"
	say "during the $what: $(summary "$log")"
	echo "FIGURE $what (lab ${*:2}): ${secs} s"
	echo "FIGURE requests failed during $what: $(failed "$log") ($(summary "$log"))"
	[[ $(failed "$log") = 0 ]] || { grep -v '^200 ' "$log" | head -5; fail "requests failed during the $what"; }
	serving=$(release) || fail "prod does not answer after the $what"
	[[ ${serving%% *} = "$tag" ]] || fail "prod serves ${serving%% *} after the $what, not the tag $tag"
	echo "FIGURE prod after $what: $serving"
}

# ---- rollback
switch rollback "$previous" "$WORK/rollback.log" "$LAB" provision --only rollback
"$LAB" verify >"$WORK/verify-rolled-back.out" 2>&1 &&
	fail "lab verify passed with prod on $previous: the check 'prod serves the newest release tag' did not notice"
say "lab verify fails as it should while prod runs $previous"

# ---- roll forward
switch "roll forward" "$newest" "$WORK/forward.log" "$LAB" provision
t=$(now)
"$LAB" verify || fail "lab verify failed after rolling forward"
echo "FIGURE lab verify after the drill: $(elapsed "$t") s"
say "passed"
