#!/usr/bin/env bash
# nginx's site is the one the nginx role wrote (no drift): the file's
# checksum is the recorded one, the sites-enabled link points at it, the
# package's default site is off, and nginx accepts its configuration.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
[[ -f $SITE_RECORD ]] || fail "$SITE_RECORD is missing (never provisioned?)"
want=$(cat "$SITE_RECORD")
have=$(sha1sum "$SITE_FILE" | cut -d' ' -f1) || fail "$SITE_FILE is missing"
[[ $have = "$want" ]] || fail "DRIFT: $SITE_FILE (sha1 $have) is not what the role wrote ($want)"
[[ $(readlink "$SITE_LINK") = "$SITE_FILE" ]] || fail "DRIFT: $SITE_LINK does not link to $SITE_FILE ($(readlink "$SITE_LINK" || echo missing))"
[[ ! -e /etc/nginx/sites-enabled/default ]] || fail "the package's default site is enabled"
out=$(nginx -t 2>&1) || fail "nginx -t: $out"
upstream=$(awk '/^upstream/ {getline; print $2}' "$SITE_FILE" | tr -d ';')
echo "site $SITE_FILE as written (sha1 ${have:0:12}), enabled by $SITE_LINK, upstream $upstream, nginx -t ok"
