#!/usr/bin/env bash
# Runs a command against one throwaway PostgreSQL cluster:
#
#   .ci/testpg.sh go test ./...
#
# It initdb's a cluster in a temp directory, starts it listening on a unix
# socket only, exports ORBIT_TEST_DATABASE_URL for it, runs "$@", stops and
# deletes the cluster, and exits with the command's status. One cluster
# serves every test binary (migrations/dbtest shares a template database
# between them), which is cheaper than one cluster per package.
#
# It installs nothing: it needs PostgreSQL's server binaries (Debian's
# postgresql package; 15 preferred). PostgreSQL refuses to run as root, so as
# root the cluster runs as the postgres user.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 command [args...]" >&2
	exit 2
fi

pgbin=""
for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4nr); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		pgbin=$d
		break
	fi
done
if [ -z "$pgbin" ] && command -v pg_ctl >/dev/null 2>&1; then
	pgbin=$(dirname "$(command -v pg_ctl)")
fi
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
	echo "testpg: PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package" >&2
	exit 1
fi

# tmpfs when there is room: on disk, CREATE DATABASE (one per test) spends
# most of its time creating small files (~240 ms on ext4 vs ~10 ms on tmpfs).
# A container's default 64 MiB /dev/shm is too small, hence the 1 GiB check.
# Otherwise /tmp, not $TMPDIR: the socket path must stay short (sun_path is
# 108 bytes) and, as root, the postgres user must be able to reach it.
base=/tmp
if [ -d /dev/shm ] && [ "$(stat -c %a /dev/shm 2>/dev/null)" = 1777 ] &&
	[ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')" -ge 1048576 ] 2>/dev/null; then
	base=/dev/shm
fi
dir=$(mktemp -d "$base/orbit-pg.XXXXXX")
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$dir"
	as_pg=(runuser -u postgres --)
fi

cleanup() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
# Make Ctrl-C and kill run the EXIT trap too, with the usual statuses.
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
	--no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	exit 1
fi
# Durability is off: the cluster is thrown away. max_connections leaves room
# for parallel test binaries, each test holding its own pool.
if ! "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
	-o "-k $dir -c listen_addresses='' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
	start >/dev/null; then
	cat "$dir/postgres.log" >&2 || true
	exit 1
fi

export ORBIT_TEST_DATABASE_URL="postgres://postgres@/postgres?host=$dir"
echo "testpg: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on $dir" >&2

status=0
"$@" || status=$?
exit "$status"
