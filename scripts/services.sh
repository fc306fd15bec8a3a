#!/usr/bin/env bash
# services.sh makes sure every service the test suite talks to is running:
# PostgreSQL and MariaDB (started by the machine; restarted here if they are
# down), a Vault dev server with Transit (scripts/vault-dev.sh) and the
# local-kms AWS KMS emulator (scripts/local-kms.sh).
#
# Usage: scripts/services.sh up|down
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
	local name=$1 port=$2
	for _ in $(seq 1 60); do
		port_open "$port" && return 0
		sleep 1
	done
	log "error: $name does not answer on 127.0.0.1:$port"
	return 1
}

postgres_up() {
	port_open 5432 && return 0
	log "PostgreSQL is down; starting it"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
	wait_port PostgreSQL 5432
}

mariadb_up() {
	port_open 3306 && return 0
	log "MariaDB is down; starting it"
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
	wait_port MariaDB 3306
}

case "${1:-}" in
up)
	postgres_up
	mariadb_up
	scripts/vault-dev.sh start
	scripts/local-kms.sh start
	log "all services up"
	;;
down)
	scripts/vault-dev.sh stop || true
	scripts/local-kms.sh stop || true
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
