#!/bin/sh
# The notes lab's PostgreSQL container: on the first start (an empty data
# volume) make the cluster, the app's role and its database, then run the
# command (postgres in the foreground) as PID 1 so `docker stop` reaches it.
# Environment: POSTGRES_PASSWORD (the superuser `postgres`), DB_NAME, DB_USER
# and DB_PASSWORD (the app's), all from the compose file's env file.
set -eu
: "${PGDATA:?}" "${POSTGRES_PASSWORD:?}" "${DB_NAME:?}" "${DB_USER:?}" "${DB_PASSWORD:?}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	echo "lab-postgres: no cluster in $PGDATA: making one"
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb --pgdata="$PGDATA" --username=postgres --pwfile="$pwfile" \
		--encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	# Clients on the compose network log in with a password.
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	# A first server on the socket only: nothing can connect over the
	# network (nor the health check pass) before the app's role exists.
	pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses=''" start
	psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
		--set=user="$DB_USER" --set=pw="$DB_PASSWORD" --set=db="$DB_NAME" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
	pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
	echo "lab-postgres: cluster made: database $DB_NAME owned by $DB_USER"
fi
exec "$@"
