# Starting a server in the background and waiting until it is ready, for
# the bats suites (loaded by load.bash) and scripts/serve-load.sh. Plain
# bash, nothing of bats. Servers listen on loopback only. Every wait is
# bounded: at most 200 looks, 0.05 s apart (10 s).

# wait_for PID WHAT CMD...: run CMD until it succeeds. Fails, saying that
# WHAT never came, when process PID ends first or the 10 s are up (PID is
# then killed).
wait_for() {
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
		wait_for "$server_pid" "listener on 127.0.0.1:$port" listening "$port"
	else
		rm -f "$ready"
		"$@" > /dev/null 3>&- &
		server_pid=$!
		wait_for "$server_pid" "port in $ready" test -s "$ready" || return 1
		port=$(cat "$ready")
	fi
}
