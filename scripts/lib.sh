# lib.sh: helpers shared by the service scripts. Source it; it needs a log
# function defined by the caller.

# stop_by_pidfile NAME PIDFILE stops the process whose pid PIDFILE holds:
# SIGTERM, up to 5 s to exit, then SIGKILL. It removes the pid file.
stop_by_pidfile() {
	local name=$1 pidfile=$2
	if [[ ! -f $pidfile ]]; then
		log "no pid file; nothing to stop"
		return 0
	fi
	local pid i
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for i in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
		log "stopped $name (pid $pid)"
	else
		log "$name (pid $pid) was not running"
	fi
	rm -f "$pidfile"
}
