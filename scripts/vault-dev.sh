#!/usr/bin/env bash
# vault-dev.sh builds, starts and stops the Vault dev server the fieldcrypt
# tests use (kms/vault).
#
# Usage: scripts/vault-dev.sh build|start|stop|status
#
#   build   build the Vault server once and cache it outside the repository
#   start   build if needed, start a dev server in the background, enable the
#           transit secrets engine at transit/ and return; a no-op when a
#           Vault already answers on the address with the token
#   stop    stop the server that start launched (pid file)
#   status  say whether a Vault answers on the address with the token
#
# Environment:
#   FIELDCRYPT_CACHE             cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/fieldcrypt)
#   FIELDCRYPT_TEST_VAULT_ADDR   address (default http://127.0.0.1:8200)
#   FIELDCRYPT_TEST_VAULT_TOKEN  root token (default fieldcrypt-dev-root)
#
# The server is built from the module source with the Go toolchain (no
# prebuilt binary is downloaded). Vault v1.21.0 is the version known to build
# this way: its go.mod replaces the api and sdk modules with local folders,
# which the module cache does not hold, so the replaces are dropped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VAULT_VERSION=v1.21.0
CACHE_ROOT="${FIELDCRYPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldcrypt}"
VAULT_DIR="$CACHE_ROOT/vault-${VAULT_VERSION#v}"
VAULT_BIN="$VAULT_DIR/vault"
ADDR="${FIELDCRYPT_TEST_VAULT_ADDR:-http://127.0.0.1:8200}"
TOKEN="${FIELDCRYPT_TEST_VAULT_TOKEN:-fieldcrypt-dev-root}"
LISTEN="${ADDR#http://}"
LISTEN="${LISTEN%%/*}"

# One log and pid file per listen address, so two dev servers can coexist.
VAULT_LOG="$VAULT_DIR/server-${LISTEN//[^A-Za-z0-9.]/_}.log"
VAULT_PID="$VAULT_DIR/server-${LISTEN//[^A-Za-z0-9.]/_}.pid"

log() { printf '[vault-dev %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# api METHOD PATH [JSON] prints the response body; fails on HTTP errors.
api() {
	local method=$1 path=$2 body=${3:-}
	if [[ -n $body ]]; then
		curl -fsS -X "$method" -H "X-Vault-Token: $TOKEN" -H 'Content-Type: application/json' \
			--data "$body" "$ADDR/v1/$path"
	else
		curl -fsS -X "$method" -H "X-Vault-Token: $TOKEN" "$ADDR/v1/$path"
	fi
}

# answering succeeds when a Vault on ADDR is unsealed and accepts TOKEN.
answering() {
	curl -fsS -o /dev/null --max-time 2 "$ADDR/v1/sys/health" 2>/dev/null &&
		curl -fsS -o /dev/null --max-time 2 -H "X-Vault-Token: $TOKEN" "$ADDR/v1/auth/token/lookup-self" 2>/dev/null
}

cmd_build() {
	if [[ -x $VAULT_BIN ]]; then
		log "vault $VAULT_VERSION already built: $VAULT_BIN"
		return 0
	fi
	command -v go >/dev/null || die "go is not on PATH"
	mkdir -p "$VAULT_DIR"
	local start=$SECONDS
	log "downloading module github.com/hashicorp/vault@$VAULT_VERSION"
	local dir
	dir=$(go mod download -json "github.com/hashicorp/vault@$VAULT_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n $dir && -d $dir ]] || die "go mod download gave no module folder"
	log "module at $dir ($((SECONDS - start))s)"

	BUILD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vault-build.XXXXXX")
	trap 'rm -rf "${BUILD_TMP:-}"' EXIT
	log "copying module to $BUILD_TMP/src"
	cp -r "$dir" "$BUILD_TMP/src"
	chmod -R u+w "$BUILD_TMP/src"
	cd "$BUILD_TMP/src"

	log "dropping local replaces of the api and sdk modules"
	local drops=(-dropreplace=github.com/hashicorp/vault/api -dropreplace=github.com/hashicorp/vault/sdk)
	local mod
	while read -r mod; do
		drops+=("-dropreplace=$mod")
	done < <(go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(github\.com\/hashicorp\/vault\/api\/auth\/[^"]*\)".*/\1/p' | sort -u)
	log "  ${drops[*]}"
	go mod edit "${drops[@]}"

	log "building (about 10 minutes cold; module downloads, then compile)"
	GOFLAGS=-mod=mod go build -o "$VAULT_BIN.tmp" .
	mv "$VAULT_BIN.tmp" "$VAULT_BIN"
	log "built $VAULT_BIN in $((SECONDS - start))s"
}

cmd_start() {
	case $ADDR in
	http://*) ;;
	*) die "FIELDCRYPT_TEST_VAULT_ADDR must be an http:// address for a dev server (got $ADDR)" ;;
	esac
	if answering; then
		log "a Vault already answers on $ADDR with the token; leaving it"
		enable_transit
		return 0
	fi
	cmd_build
	mkdir -p "$VAULT_DIR"
	log "starting vault dev server on $LISTEN (log $VAULT_LOG)"
	# setsid: the server leaves this script's process group and survives it.
	setsid nohup "$VAULT_BIN" server -dev \
		-dev-listen-address="$LISTEN" \
		-dev-root-token-id="$TOKEN" \
		-dev-no-store-token \
		>"$VAULT_LOG" 2>&1 </dev/null &
	echo $! >"$VAULT_PID"
	local i
	for i in $(seq 1 60); do
		if answering; then
			log "vault answers after ${i} tries (pid $(cat "$VAULT_PID"))"
			enable_transit
			return 0
		fi
		if ! kill -0 "$(cat "$VAULT_PID")" 2>/dev/null; then
			tail -n 20 "$VAULT_LOG" >&2 || true
			die "vault exited during start-up"
		fi
		sleep 0.5
	done
	tail -n 20 "$VAULT_LOG" >&2 || true
	die "vault did not answer on $ADDR within 30s"
}

enable_transit() {
	if api GET sys/mounts | grep -q '"transit/"'; then
		log "transit already enabled at transit/"
		return 0
	fi
	api POST sys/mounts/transit '{"type":"transit"}' >/dev/null
	log "enabled transit at transit/"
}

cmd_stop() { stop_by_pidfile vault "$VAULT_PID"; }

cmd_status() {
	if answering; then
		log "vault answers on $ADDR"
	else
		log "no vault answers on $ADDR with the token"
		return 1
	fi
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 build|start|stop|status" >&2
	exit 2
	;;
esac
