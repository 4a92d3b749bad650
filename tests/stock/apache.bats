#!/usr/bin/env bats
# Apache httpd (Debian's apache2) with the worker MPM: 2 child processes
# x 64 threads, each thread serving one connection with blocking I/O.
# Private config (ServerRoot, DocumentRoot, PidFile, ErrorLog in a
# directory of the test), Listen 127.0.0.1 on a free port. Static files of
# 1 KB and 100 KB to build/demo/loadgen, which checks every byte of every
# response; then SIGTERM to the parent must stop every process.
load stock

HTTPD=/usr/sbin/apache2
MODS=/usr/lib/apache2/modules
CONNS=${EVSHIM_STOCK_HTTP_CONNS:-100}
# Each process at most 8 GiB of address space (native: about 1 GiB per
# child, mostly thread stacks); the watchdog (stock.bash) kills a child
# past 1 GiB RSS.
VMEM_LIMIT=8388608
ROUNDS=${EVSHIM_STOCK_HTTP_ROUNDS:-20}

setup() {
	need "$HTTPD" "$MODS/mod_mpm_worker.so" "$DEMO/loadgen"
	# Apache's children run as www-data: the directory must be theirs to
	# read (bats' own temporary directories are private to root).
	D=$(mktemp -d /tmp/evshim-apache.XXXXXX)
	chmod 755 "$D"
}
teardown() {
	kill_groups
	rm -rf "$D"
}

apache_conf() {  # port
	mkdir -p "$D/www" "$D/logs"
	head -c 1024 /dev/urandom > "$D/www/1k.bin"
	head -c 102400 /dev/urandom > "$D/www/100k.bin"
	chmod -R a+rX "$D/www"
	cat > "$D/httpd.conf" <<-EOF
	ServerRoot "$D"
	LoadModule mpm_worker_module $MODS/mod_mpm_worker.so
	LoadModule authz_core_module $MODS/mod_authz_core.so
	User www-data
	Group www-data
	ServerName 127.0.0.1
	Listen 127.0.0.1:$1
	PidFile "$D/logs/httpd.pid"
	ErrorLog "$D/logs/error.log"
	LogLevel warn
	DefaultRuntimeDir "$D/logs"
	DocumentRoot "$D/www"
	<Directory "$D/www">
	    Require all granted
	</Directory>
	KeepAlive On
	MaxKeepAliveRequests 0
	StartServers 2
	ServerLimit 2
	ThreadLimit 64
	ThreadsPerChild 64
	MaxRequestWorkers 128
	MinSpareThreads 1
	MaxSpareThreads 128
	MaxConnectionsPerChild 0
	EOF
}

# apache MODE: serve, load, check, stop. Figures to $FIG and, for the RSS
# comparison, to $BATS_FILE_TMPDIR/apache.MODE.
apache() {
	local mode=$1 port
	port=$(free_port)
	apache_conf "$port"
	STATS="$D/stats"
	: > "$STATS"
	chmod 666 "$STATS"
	# shellcheck disable=SC2046
	start_bg httpd $(shim_env "$mode") "$HTTPD" -d "$D" -f "$D/httpd.conf" -DFOREGROUND
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	if ! answers_http "$port" /1k.bin "$D/www/1k.bin"; then
		echo "httpd never answered on 127.0.0.1:$port"
		cat "$BATS_TEST_TMPDIR/httpd.log" "$D/logs/error.log"
		local c
		for c in $(pgrep -P "$(cat "$D/logs/httpd.pid")"); do dump_stacks "$c"; done
		return 1
	fi
	local httpd
	httpd=$(cat "$D/logs/httpd.pid")
	# The load: every connection at once, keep-alive rounds, each byte checked.
	local f rc=0
	for f in 1k 100k; do
		"$DEMO/loadgen" -p "$port" -c "$CONNS" -r "$ROUNDS" -m http -u "/$f.bin" -F "$D/www/$f.bin" \
			-t 60 > "$BATS_TEST_TMPDIR/load.$f" 2>&1 || rc=1
		cat "$BATS_TEST_TMPDIR/load.$f"
		record apache "$mode" "$f requests/s" "$(awk '$1 == "elapsed_s" {print $4}' "$BATS_TEST_TMPDIR/load.$f")"
		record apache "$mode" "$f latency p50/p99 us" "$(awk '$1 == "latency_us" {print $3 "/" $5}' "$BATS_TEST_TMPDIR/load.$f")"
	done
	local children threads
	children=$(pgrep -P "$httpd" | wc -l)
	threads=$(threads_now "$httpd")
	# The children's RSS now, after the load (the peak is in the watch file).
	local rss_now
	rss_now=$(ps -o rss= --ppid "$httpd" | sort -n | tail -n 1)
	# SIGTERM to the parent must end the children and the parent.
	kill -TERM "$httpd"
	local stopped=1
	wait_gone "$httpd" 30 || stopped=0
	reap_bg
	watch_stop "$BATS_TEST_TMPDIR/watch"
	local left
	left=$(pgrep -g "$BGPID" | wc -l)
	local pt pr ps
	read -r pt pr ps < "$BATS_TEST_TMPDIR/watch"
	record apache "$mode" "kernel threads (all processes, peak)" "$pt"
	record apache "$mode" "child RSS KiB (peak)" "$pr"
	record apache "$mode" "child RSS KiB after load" "$rss_now"
	record apache "$mode" "context switches vol/invol (rusage)" "$(rusage_of httpd | awk '{print $1 "/" $2}')"
	echo "$pr $pt" > "$BATS_FILE_TMPDIR/apache.$mode"
	echo "$mode: $children children, $threads kernel threads after the load (peak $pt), peak child RSS $pr KiB"
	if [ -e "$BATS_TEST_TMPDIR/watch.runaway" ]; then
		cat "$BATS_TEST_TMPDIR/watch.runaway"
		return 1
	fi
	grep -v -e 'resuming normal operations' -e 'caught SIGTERM' -e 'AH00558' "$D/logs/error.log" | tail -n 20 || true
	[ "$rc" = 0 ]
	[ "$stopped" = 1 ] || { echo "SIGTERM did not stop the parent in 30 s"; return 1; }
	[ "$left" = 0 ] || { echo "$left processes left after SIGTERM"; return 1; }
	[ "$children" -ge 2 ]
	# 2 children x 64 threads natively; as tasks, a few workers each.
	[ "$mode" != shim ] || shim_served apache 64 "$pt" sum
}

@test "apache2 worker MPM natively: 1 KB and 100 KB files byte-checked, SIGTERM stops it" {
	apache native
}

@test "apache2 worker MPM under the shim: byte-checked, few kernel threads, SIGTERM stops it" {
	apache shim
}

@test "apache2 under the shim: children's RSS within 2x of native" {
	[ -f "$BATS_FILE_TMPDIR/apache.native" ] || apache native
	[ -f "$BATS_FILE_TMPDIR/apache.shim" ] || apache shim || true
	[ -f "$BATS_FILE_TMPDIR/apache.shim" ] || { echo "no shim figure"; return 1; }
	read -r native _ < "$BATS_FILE_TMPDIR/apache.native"
	read -r shimmed _ < "$BATS_FILE_TMPDIR/apache.shim"
	echo "peak child RSS: native $native KiB, shim $shimmed KiB"
	[ "$shimmed" -le $((2 * native)) ]
}
