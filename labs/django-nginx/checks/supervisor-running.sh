#!/usr/bin/env bash
# supervisor reports the app's program RUNNING, and the process listening
# on the program's port is that program (its master's PID).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
status=$(supervisorctl status "$APP" 2>&1) || true
[[ $status == *" RUNNING "* ]] || fail "supervisorctl status $APP: $status"
# "notes  RUNNING   pid 1234, uptime 0:01:02" (one supervisorctl call: each
# takes long on a loaded emulated guest)
pid=$(sed -n 's/.* pid \([0-9]*\),.*/\1/p' <<<"$status")
port=$(program_port)
listener=$(ss -Hltnp "sport = :$port")
[[ $listener == *"pid=$pid,"* ]] || fail "port $port is not held by the program (PID $pid): ${listener:-nothing listens}"
echo "$(tr -s ' ' <<<"$status"); listening on 127.0.0.1:$port (PID $pid)"
