# shellcheck shell=bash disable=SC2034
# Sourced by the checks. They run on the web node as root (`lab verify`;
# the playbook installs them in /usr/local/lib/django-nginx/checks/).
set -euo pipefail
APP=notes
PROGRAM_FILE=/etc/supervisor/conf.d/$APP.conf
SITE_FILE=/etc/nginx/sites-available/$APP
SITE_LINK=/etc/nginx/sites-enabled/$APP
SITE_RECORD=/var/lib/django-nginx/nginx-site.sha1

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# program_port: the port in the supervisor program's gunicorn command line.
program_port() {
	sed -n 's/^command=.*--bind 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$PROGRAM_FILE"
}
