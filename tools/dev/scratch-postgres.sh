#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests of Sabha's PostgreSQL store (Debian's `postgresql` package).
#
#   scratch-postgres.sh start DIR          new cluster in DIR (must not hold one yet), listening only on 127.0.0.1
#                                          on a free port; prints postgres://sabha:sabha@127.0.0.1:PORT/sabha
#   scratch-postgres.sh url DIR            prints that URL again
#
#   SCRATCH_PG_LISTEN=ADDR (start only)    listen on the IPv4 address ADDR instead of 127.0.0.1, e.g. a veth end the
#                                          test gave an address in a network namespace of its own; the URLs printed
#                                          then name ADDR. pg_hba lets `sabha` in with scram-sha-256 from
#                                          SCRATCH_PG_ALLOW (a CIDR; default ADDR's /24). ADDR must exist already.
#   scratch-postgres.sh createdb DIR NAME  another database owned by sabha; prints its URL
#   scratch-postgres.sh stop DIR           pg_ctl stop -m fast (then immediate); nothing to do when not running
#
# Speed over safety (fsync, synchronous_commit, full_page_writes off): for tests only. The role `sabha` (password
# `sabha`, not a superuser) logs in over TCP with scram-sha-256; the superuser `postgres` only over the Unix socket in
# DIR/sock. initdb and postgres refuse to run as root: as root they run as the `postgres` user, who then owns DIR (so
# DIR must be reachable by that user, e.g. under /tmp).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

die() { echo "scratch-postgres: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR | url DIR | createdb DIR NAME | stop DIR"; }

(($# >= 2)) || usage
cmd=$1
dir=$(realpath -m -- "$2")
data=$dir/data
sock=$dir/sock

[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] ||
  die "$PGBIN/initdb not found: install Debian's postgresql package (apt-get install postgresql; tools/setup.sh does)"

as_pg() {  # runs "$@" as whoever may run PostgreSQL
  if (($(id -u) == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

port() { [[ -s $dir/port ]] || die "no cluster started in $dir (no $dir/port)"; cat "$dir/port"; }

host() { if [[ -s $dir/host ]]; then cat "$dir/host"; else echo 127.0.0.1; fi; }  # the address start listened on

superuser_psql() {  # SQL...: as the superuser over the Unix socket
  local p; p=$(port)
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$p" -U postgres -d postgres "$@" >/dev/null
}

url() { local p h; p=$(port); h=$(host); echo "postgres://sabha:sabha@$h:$p/$1"; }

ipv4() {  # ADDR: dotted quad, each part 0-255
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
    ((10#${BASH_REMATCH[1]} < 256 && 10#${BASH_REMATCH[2]} < 256 && 10#${BASH_REMATCH[3]} < 256 && 10#${BASH_REMATCH[4]} < 256))
}

start() {
  [[ ! -e $data ]] || die "$dir already holds a cluster ($data); stop it and use an empty directory"
  local listen=${SCRATCH_PG_LISTEN:-127.0.0.1} allow=""
  ipv4 "$listen" || die "SCRATCH_PG_LISTEN='$listen': give one IPv4 address"
  if [[ $listen != 127.0.0.1 ]]; then
    allow=${SCRATCH_PG_ALLOW:-${listen%.*}.0/24}
    [[ $allow == */* ]] && ipv4 "${allow%/*}" && [[ ${allow#*/} =~ ^[0-9]{1,2}$ ]] && ((10#${allow#*/} <= 32)) ||
      die "SCRATCH_PG_ALLOW='$allow': give an IPv4 CIDR such as 10.77.0.0/24"
  fi
  if (($(id -u) == 0)); then
    getent passwd postgres >/dev/null || die "running as root, and there is no postgres user to run PostgreSQL as (install Debian's postgresql package)"
    runuser -u postgres -- true 2>/dev/null ||
      die "running as root, but cannot switch to the postgres user (inside 'unshare -r'? PostgreSQL refuses to run as root)"
  fi
  mkdir -p "$dir"
  if (($(id -u) == 0)); then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  cd "$dir"  # the postgres user may not be allowed into the caller's working directory
  as_pg test -w "$dir" || die "the postgres user cannot write $dir (every folder above it must be searchable by that user): use e.g. a new directory directly under /tmp"
  as_pg mkdir -p "$sock"
  as_pg sh -c 'echo postgres > "$1"' sh "$dir/pwfile"
  if ! as_pg "$PGBIN/initdb" -D "$data" -U postgres --pwfile="$dir/pwfile" -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed (log above, also in $dir/initdb.log)"
  fi
  if [[ -n $allow ]]; then  # initdb's host lines cover 127.0.0.1 and ::1 only
    as_pg sh -c 'printf "%s\n" "$2" >> "$1"' sh "$data/pg_hba.conf" \
      "host    all             all             $allow            scram-sha-256   # SCRATCH_PG_ALLOW"
  fi
  as_pg sh -c 'cat >> "$1"' sh "$data/postgresql.conf" <<EOF

# scratch-postgres.sh: a throwaway test cluster, on $listen only, no durability
listen_addresses = '$listen'
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
include_if_exists = 'port.conf'
EOF
  local tries=0 p
  while :; do
    tries=$((tries + 1))
    # Below the kernel's ephemeral range (32768-60999, where bind(0) ports come from) and the e2e media ports (20000-29999).
    p=$((15000 + RANDOM % 5000))
    as_pg sh -c 'echo "port = $2" > "$1"' sh "$data/port.conf" "$p"
    echo "$p" >"$dir/port"
    echo "$listen" >"$dir/host"
    as_pg sh -c ': > "$1"' sh "$dir/postgres.log"
    if as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 start >/dev/null 2>"$dir/pg_ctl.log"; then
      break
    fi
    if grep -q "Cannot assign requested address" "$dir/postgres.log"; then
      cat "$dir/postgres.log" >&2
      die "PostgreSQL cannot listen on $listen: no interface here has that address (log above)"
    fi
    if grep -q "could not bind\|could not create any TCP/IP sockets\|Address already in use" "$dir/postgres.log" && ((tries < 20)); then
      continue  # the port was taken (by something else, or a cluster started at the same moment): another one
    fi
    cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2
    die "PostgreSQL did not start in $data (port $p; log above, also in $dir/postgres.log)"
  done
  local deadline=$((SECONDS + 30))
  until "$PGBIN/pg_isready" -q -h "$listen" -p "$p"; do
    ((SECONDS < deadline)) || die "PostgreSQL started but $listen:$p does not accept connections after 30 s (see $dir/postgres.log)"
    sleep 0.2
  done
  superuser_psql -c "CREATE ROLE sabha LOGIN PASSWORD 'sabha'" -c "CREATE DATABASE sabha OWNER sabha"
  url sabha
}

stop() {
  [[ -f $data/postmaster.pid ]] || return 0
  cd "$dir"
  as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 0  # not running (a stale pid file at most)
  as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
    as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
    [[ ! -f $data/postmaster.pid ]] || die "could not stop PostgreSQL in $data (see $dir/postgres.log)"
}

case $cmd in
  start) (($# == 2)) || usage; start ;;
  url) (($# == 2)) || usage; url sabha ;;
  createdb)
    (($# == 3)) || usage
    [[ $3 =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name '$3': use 1-63 of a-z, 0-9, _ (not starting with a digit)"
    superuser_psql -c "CREATE DATABASE $3 OWNER sabha"
    url "$3"
    ;;
  stop) (($# == 2)) || usage; stop ;;
  *) usage ;;
esac
