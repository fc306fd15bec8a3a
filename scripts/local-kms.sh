#!/usr/bin/env bash
# local-kms.sh installs, starts and stops local-kms, the third-party AWS KMS
# emulator the fieldcrypt tests use (kms/awskms).
#
# Usage: scripts/local-kms.sh install|start|stop|status
#
#   install  build local-kms once with `go install` and cache it outside the
#            repository; a no-op when the binary is already there
#   start    install if needed, start local-kms in the background and wait
#            until it answers; a no-op when something already answers on the
#            endpoint
#   stop     stop the server that start launched (pid file)
#   status   say whether a KMS answers on the endpoint
#
# Environment:
#   FIELDCRYPT_CACHE                 cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/fieldcrypt)
#   FIELDCRYPT_TEST_AWSKMS_ENDPOINT  endpoint (default http://127.0.0.1:4599)
#
# The server is built from the module source with the Go toolchain (no
# prebuilt binary is downloaded). Its keys live in a data folder under the
# cache that start empties, so every start begins with no keys; the tests
# create the keys they use.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOCAL_KMS_MODULE=github.com/nsmithuk/local-kms
LOCAL_KMS_VERSION=v0.0.0-20260228092603-2a5e92d09ab6
CACHE_ROOT="${FIELDCRYPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldcrypt}"
KMS_DIR="$CACHE_ROOT/local-kms"
KMS_BIN_DIR="$CACHE_ROOT/bin"
KMS_BIN="$KMS_BIN_DIR/local-kms"
KMS_STAMP="$KMS_BIN_DIR/local-kms.version"
KMS_LOG="$KMS_DIR/server.log"
KMS_PID="$KMS_DIR/server.pid"
KMS_DATA="$KMS_DIR/data"

ENDPOINT="${FIELDCRYPT_TEST_AWSKMS_ENDPOINT:-http://127.0.0.1:4599}"
HOSTPORT="${ENDPOINT#http://}"
HOSTPORT="${HOSTPORT%%/*}"
PORT="${HOSTPORT##*:}"
# The emulator's region and account: the tests read them back from the ARNs
# that CreateKey returns, so any values work.
REGION=eu-west-1
ACCOUNT=111122223333

log() { printf '[local-kms %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# answering succeeds when a KMS on ENDPOINT answers ListKeys.
answering() {
	curl -fsS -o /dev/null --max-time 2 -X POST \
		-H 'Content-Type: application/x-amz-json-1.1' \
		-H 'X-Amz-Target: TrentService.ListKeys' \
		--data '{}' "$ENDPOINT/" 2>/dev/null
}

cmd_install() {
	if [[ -x $KMS_BIN && -f $KMS_STAMP && $(cat "$KMS_STAMP") == "$LOCAL_KMS_VERSION" ]]; then
		log "local-kms $LOCAL_KMS_VERSION already installed: $KMS_BIN"
		return 0
	fi
	command -v go >/dev/null || die "go is not on PATH"
	mkdir -p "$KMS_BIN_DIR"
	local start=$SECONDS
	log "installing $LOCAL_KMS_MODULE@$LOCAL_KMS_VERSION"
	GOBIN="$KMS_BIN_DIR" go install "$LOCAL_KMS_MODULE@$LOCAL_KMS_VERSION"
	echo "$LOCAL_KMS_VERSION" >"$KMS_STAMP"
	log "installed $KMS_BIN in $((SECONDS - start))s"
}

cmd_start() {
	if answering; then
		log "a KMS already answers on $ENDPOINT; leaving it"
		return 0
	fi
	case $HOSTPORT in
	127.0.0.1:* | localhost:*) ;;
	*) die "refusing to start local-kms for $ENDPOINT: only a loopback endpoint is started here" ;;
	esac
	cmd_install
	mkdir -p "$KMS_DIR"
	rm -rf "$KMS_DATA"
	mkdir -p "$KMS_DATA"
	log "starting local-kms on 127.0.0.1:$PORT (log $KMS_LOG)"
	# local-kms listens on 0.0.0.0:PORT and has no flag to bind loopback only.
	# setsid: the server leaves this script's process group and survives it.
	# KMS_SEED_PATH names a file that does not exist: no seeded keys.
	PORT="$PORT" KMS_REGION="$REGION" KMS_ACCOUNT_ID="$ACCOUNT" \
		KMS_DATA_PATH="$KMS_DATA" KMS_SEED_PATH="$KMS_DIR/no-seed.yaml" \
		setsid nohup "$KMS_BIN" >"$KMS_LOG" 2>&1 </dev/null &
	echo $! >"$KMS_PID"
	local i
	for i in $(seq 1 60); do
		if answering; then
			log "local-kms answers after ${i} tries (pid $(cat "$KMS_PID"))"
			return 0
		fi
		if ! kill -0 "$(cat "$KMS_PID")" 2>/dev/null; then
			tail -n 20 "$KMS_LOG" >&2 || true
			die "local-kms exited during start-up"
		fi
		sleep 0.25
	done
	tail -n 20 "$KMS_LOG" >&2 || true
	die "local-kms did not answer on $ENDPOINT within 15s"
}

cmd_stop() { stop_by_pidfile local-kms "$KMS_PID"; }

cmd_status() {
	if answering; then
		log "a KMS answers on $ENDPOINT"
	else
		log "no KMS answers on $ENDPOINT"
		return 1
	fi
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 install|start|stop|status" >&2
	exit 2
	;;
esac
