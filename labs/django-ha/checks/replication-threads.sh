#!/usr/bin/env bash
# Both replication threads run on every db node, without errors.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
for node in $DB_NODES; do
	status=$(on "$node" sudo mysql -e "'SHOW SLAVE STATUS\G'") || fail "cannot read the replica status of $node"
	for field in Slave_IO_Running Slave_SQL_Running; do
		value=$(printf '%s\n' "$status" | awk -v f="$field:" '$1==f {print $2}')
		[ "$value" = Yes ] || fail "$node: $field is '${value:-not configured}' ($(printf '%s\n' "$status" | grep -E 'Last_(IO_|SQL_)?Error:' | tr -s ' ' | tr '\n' ';'))"
	done
	lag=$(printf '%s\n' "$status" | awk '$1=="Seconds_Behind_Master:" {print $2}')
	echo "$node: IO and SQL threads running, ${lag}s behind $(printf '%s\n' "$status" | awk '$1=="Master_Host:" {print $2}')"
done
