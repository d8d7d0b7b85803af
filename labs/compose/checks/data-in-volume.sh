#!/usr/bin/env bash
# The database keeps its data in the project's named volume: the db
# container mounts the volume PROJECT_dbdata (a volume, not a bind mount or
# the container's own layer) at the data directory, and a note written
# through the app is in PostgreSQL there.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
db=$(ids db)
[[ -n $db ]] || fail "no db container"
mount=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Type}} {{.Name}}{{end}}{{end}}' "$db")
[[ $mount = "volume ${PROJECT}_dbdata" ]] || fail "the db's data directory is not the named volume ${PROJECT}_dbdata: mount '$mount'"
text="check $(date +%s.%N)"
id=$(curl -fsS -m 10 -H 'Content-Type: application/json' -d "{\"text\": \"$text\"}" "$APP_URL/api/notes" | json 'd["id"]') ||
	fail "POST $APP_URL/api/notes failed"
seen=$(docker exec "$db" psql -U postgres -d notes -tAc "SELECT text FROM notes WHERE id = $id") ||
	fail "psql in the db container failed"
[[ $seen = "$text" ]] || fail "note $id written through the app reads '$seen' in PostgreSQL, not '$text'"
echo "db mounts $mount at /var/lib/postgresql/data; note $id written through the app is in PostgreSQL ($(docker exec "$db" psql -U postgres -d notes -tAc 'SELECT COUNT(*) FROM notes') notes)"
