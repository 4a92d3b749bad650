# Waiting for a process to be ready, for the bats suites (loaded by
# load.bash) and scripts/serve-load.sh. Plain bash, nothing of bats. Every
# wait is bounded: at most 200 looks, 0.05 s apart (10 s). Servers listen
# on loopback only.

# wait_until WHAT CMD...: run CMD until it succeeds; fails, saying that
# WHAT never came, after 10 s.
wait_until() {
	local what=$1 i
	shift
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	echo "no $what after 10 s" >&2
	return 1
}

# wait_server PID WHAT CMD...: wait_until for a server: fails at once when
# process PID ends first, and kills PID when the 10 s are up.
wait_server() {
	local pid=$1 what=$2 i
	shift 2
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		if ! kill -0 "$pid" 2> /dev/null; then
			echo "server (pid $pid) ended before $what" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "no $what after 10 s: server (pid $pid) killed" >&2
	kill "$pid" 2> /dev/null
	return 1
}

# listening PORT: something listens on 127.0.0.1:PORT. Read from
# /proc/net/tcp, so the server sees no connection.
listening() {
	awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a && $4 == "0A" {f = 1} END {exit !f}' \
		/proc/net/tcp
}

# catches PID SIGNUM: process PID has a handler for signal SIGNUM (SigCgt
# in /proc/PID/status): under the shim, its start-up has got that far. A
# signal sent before then would meet the default action.
catches() {
	local mask
	mask=$(awk '$1 == "SigCgt:" {print $2}' "/proc/$1/status" 2> /dev/null)
	[ -n "$mask" ] && (( (16#$mask >> ($2 - 1)) & 1 ))
}

# more_threads_than PID N: process PID has more than N kernel threads.
more_threads_than() {
	local n
	n=$(awk '$1 == "Threads:" {print $2}' "/proc/$1/status" 2> /dev/null)
	[ -n "$n" ] && [ "$n" -gt "$2" ]
}

# start_server READY CMD...: run the server CMD in the background (its
# stdout thrown away) and wait until it is ready. READY is either the port
# file it writes (the demo servers' -P FILE, which CMD must pass itself)
# or the port it was told to listen on at 127.0.0.1. Sets server_pid, and
# port. The caller waits for the server (`wait "$server_pid"`) or kills it.
start_server() {
	local ready=$1
	shift
	if [[ $ready =~ ^[0-9]+$ ]]; then
		port=$ready
		"$@" > /dev/null 3>&- &
		server_pid=$!
		wait_server "$server_pid" "listener on 127.0.0.1:$port" listening "$port"
	else
		rm -f "$ready"
		"$@" > /dev/null 3>&- &
		server_pid=$!
		wait_server "$server_pid" "port in $ready" test -s "$ready" || return 1
		port=$(cat "$ready")
	fi
}
