#!/usr/bin/env bats
# tinyproxy (Debian's 1.11: since 1.11 a thread per client connection,
# pthread_create in child.c's accept loop, blocking reads and writes to
# both ends in relay_connection) as an HTTP proxy in front of the
# project's own http_server (native, thread per connection, not under
# test). loadgen sends absolute-URI requests through the proxy and checks
# every byte. docs/compatibility.md has the strace/proc evidence for the
# thread-per-connection claim.
load stock

TP=/usr/bin/tinyproxy
PCONNS=${EVSHIM_STOCK_PROXY_CONNS:-50}
PREQS=${EVSHIM_STOCK_PROXY_REQS:-20}

setup() {
	need "$TP" "$DEMO/http_server" "$DEMO/loadgen"
	D=$(mktemp -d /tmp/evshim-tinyproxy.XXXXXX)
	chmod 777 "$D"
}
teardown() {
	kill_groups
	rm -rf "$D"
}

tinyproxy() {
	local mode=$1 port bport
	mkdir -p "$D/www"
	head -c 1024 /dev/urandom > "$D/www/1k.bin"
	head -c 102400 /dev/urandom > "$D/www/100k.bin"
	chmod -R a+rX "$D/www"
	# The origin server, natively.
	start_bg origin "$DEMO/http_server" -d "$D/www" -n 0 -P "$D/origin.port"
	local i
	for ((i = 0; i < 50; i++)); do [ -s "$D/origin.port" ] && break; sleep 0.1; done
	bport=$(cat "$D/origin.port")
	port=$(free_port)
	cat > "$D/tinyproxy.conf" <<-EOF
	Port $port
	Listen 127.0.0.1
	Timeout 60
	MaxClients 400
	Allow 127.0.0.1
	PidFile "$D/tinyproxy.pid"
	LogFile "$D/tinyproxy.log"
	LogLevel Warning
	DisableViaHeader Yes
	EOF
	STATS="$D/stats"
	: > "$STATS"
	chmod 666 "$STATS"
	# shellcheck disable=SC2046
	start_bg proxy $(shim_env "$mode") "$TP" -d -c "$D/tinyproxy.conf"
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	local url="http://127.0.0.1:$bport"
	answers_http "$port" "$url/1k.bin" "$D/www/1k.bin" -H "127.0.0.1:$bport" ||
		{ echo "tinyproxy never relayed"; cat "$BATS_TEST_TMPDIR/proxy.log" "$D/tinyproxy.log"; return 1; }
	local tp f rc=0 n
	tp=$(cat "$D/tinyproxy.pid")
	for f in 1k 100k; do
		# tinyproxy ends a client connection after one response, so each
		# batch is PCONNS connections at once, one request each.
		local good=0 s=$SECONDS
		( sleep 0.5; threads_now "$tp" > "$BATS_TEST_TMPDIR/threads.$f" ) 3>&- &
		for ((n = 0; n < PREQS; n++)); do
			"$DEMO/loadgen" -p "$port" -c "$PCONNS" -r 1 -m http -u "$url/$f.bin" -H "127.0.0.1:$bport" \
				-F "$D/www/$f.bin" -t 60 > "$BATS_TEST_TMPDIR/load.$f" 2>&1 && good=$((good + PCONNS))
		done
		wait $!
		echo "$f: $good/$((PCONNS * PREQS)) responses byte-checked"
		[ "$good" = $((PCONNS * PREQS)) ] || { rc=1; tail -n 3 "$BATS_TEST_TMPDIR/load.$f"; }
		record tinyproxy "$mode" "$f requests in s" "$good in $((SECONDS - s))"
		record tinyproxy "$mode" "$f kernel threads (under load)" "$(cat "$BATS_TEST_TMPDIR/threads.$f")"
	done
	kill -TERM "$tp"
	wait_gone "$tp" 30 || { echo "tinyproxy did not stop on SIGTERM"; rc=1; }
	reap_bg
	watch_stop "$BATS_TEST_TMPDIR/watch"
	local pt
	read -r pt _ < "$BATS_TEST_TMPDIR/watch"
	record tinyproxy "$mode" "kernel threads (peak)" "$pt"
	record tinyproxy "$mode" "context switches vol/invol (rusage)" "$(rusage_of proxy | awk '{print $1 "/" $2}')"
	grep -E 'ERROR|CRITICAL' "$D/tinyproxy.log" | tail -n 5 || true
	[ "$rc" = 0 ]
	[ "$mode" != shim ] || shim_served tinyproxy "$PCONNS" "$pt"
}

@test "tinyproxy (thread per connection) natively: relays byte-checked 1 KB and 100 KB files" {
	tinyproxy native
}

@test "tinyproxy under the shim: relays byte-checked files, a task per connection" {
	tinyproxy shim
}
