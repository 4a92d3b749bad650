#!/usr/bin/env bats
# Ruby's WEBrick (Debian's ruby-webrick: a Ruby thread, so a kernel
# thread, for every connection) serving static files to loadgen, and GNU
# make -j2 (fork, exec, SIGCHLD and pselect) building a small C project and
# a 40-target Makefile. Natively and under the shim, the same answers.
load stock

RUBY=/usr/bin/ruby
MAKE=/usr/bin/make
WCONNS=${EVSHIM_STOCK_WEBRICK_CONNS:-40}
WROUNDS=${EVSHIM_STOCK_WEBRICK_ROUNDS:-10}

teardown() { kill_groups; }

webrick() {
	local mode=$1 port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	head -c 1024 /dev/urandom > "$BATS_TEST_TMPDIR/www/1k.bin"
	head -c 102400 /dev/urandom > "$BATS_TEST_TMPDIR/www/100k.bin"
	cat > "$BATS_TEST_TMPDIR/serve.rb" <<-'EOF'
	require 'webrick'
	port, root, log = ARGV[0].to_i, ARGV[1], ARGV[2]
	s = WEBrick::HTTPServer.new(BindAddress: '127.0.0.1', Port: port, DocumentRoot: root,
	                            MaxClients: 500, AccessLog: [],
	                            Logger: WEBrick::Log.new(log, WEBrick::Log::WARN))
	trap('TERM') { s.shutdown }
	s.start
	EOF
	# shellcheck disable=SC2046
	start_bg ruby $(shim_env "$mode") "$RUBY" "$BATS_TEST_TMPDIR/serve.rb" "$port" \
		"$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/webrick.log"
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	answers_http "$port" /1k.bin "$BATS_TEST_TMPDIR/www/1k.bin" ||
		{ echo "WEBrick never answered"; cat "$BATS_TEST_TMPDIR/ruby.log"; return 1; }
	local rb f rc=0
	rb=$(pgrep -P "$(child "$BGPID")")
	for f in 1k 100k; do
		( sleep 1; threads_now "$rb" > "$BATS_TEST_TMPDIR/threads.$f" ) 3>&- &
		"$DEMO/loadgen" -p "$port" -c "$WCONNS" -r "$WROUNDS" -m http -u "/$f.bin" \
			-F "$BATS_TEST_TMPDIR/www/$f.bin" -t 120 > "$BATS_TEST_TMPDIR/load.$f" 2>&1 || rc=1
		wait $!
		cat "$BATS_TEST_TMPDIR/load.$f"
		record webrick "$mode" "$f requests/s" "$(awk '$1 == "elapsed_s" {print $4}' "$BATS_TEST_TMPDIR/load.$f")"
		record webrick "$mode" "$f kernel threads (under load)" "$(cat "$BATS_TEST_TMPDIR/threads.$f")"
	done
	kill -TERM "$rb"
	wait_gone "$rb" 30 || { echo "WEBrick did not stop on SIGTERM"; rc=1; }
	reap_bg
	watch_stop "$BATS_TEST_TMPDIR/watch"
	local pt
	read -r pt _ < "$BATS_TEST_TMPDIR/watch"
	record webrick "$mode" "kernel threads (peak)" "$pt"
	record webrick "$mode" "context switches vol/invol (rusage)" "$(rusage_of ruby | awk '{print $1 "/" $2}')"
	[ "$rc" = 0 ]
	[ "$mode" != shim ] || shim_served webrick "$WCONNS" "$pt"
}

@test "ruby WEBrick natively: 1 KB and 100 KB files byte-checked" {
	need "$RUBY" /usr/share/doc/ruby-webrick/copyright "$DEMO/loadgen"
	webrick native
}

@test "ruby WEBrick under the shim: byte-checked, a task per connection" {
	need "$RUBY" /usr/share/doc/ruby-webrick/copyright "$DEMO/loadgen"
	webrick shim
}

# A small C project: 5 sources, a header, a Makefile with dependencies.
c_project() {
	local d=$1 i
	mkdir -p "$d"
	echo 'int part0(int); int part1(int); int part2(int); int part3(int);' > "$d/parts.h"
	for i in 0 1 2 3; do
		printf '#include "parts.h"\nint part%d(int x) { return x * %d + %d; }\n' "$i" $((i + 3)) "$i" > "$d/p$i.c"
	done
	cat > "$d/main.c" <<-'EOF'
	#include <stdio.h>
	#include "parts.h"
	int main(void) { printf("%d %d %d %d\n", part0(1), part1(2), part2(3), part3(4)); return 0; }
	EOF
	printf '%s\n' 'OBJ = main.o p0.o p1.o p2.o p3.o' 'prog: $(OBJ)' '	$(CC) -o $@ $(OBJ)' \
		'%.o: %.c parts.h' '	$(CC) -O1 -c $< -o $@' > "$d/Makefile"
	{
		printf 'all:'
		for i in $(seq 40); do printf ' t%d' "$i"; done
		printf '\n\t@echo done 40\nt%%:\n\t@true\n'
	} > "$d/Makefile.40"
}

gmake() {
	local mode=$1 d="$BATS_TEST_TMPDIR/proj"
	# Not a sub-make of make test-stock: no inherited jobserver or -w.
	unset MAKEFLAGS MFLAGS MAKELEVEL
	c_project "$d"
	local s=$SECONDS out rc
	# shellcheck disable=SC2046
	out=$(cd "$d" && timeout -k 5 60 $(shim_env "$mode") "$MAKE" -j2 2>&1; echo "exit=$?")
	echo "$out"
	[ "$(tail -n 1 <<< "$out")" = exit=0 ]
	[ "$("$d/prog")" = "3 9 17 27" ]
	out=$(cd "$d" && timeout -k 5 60 $(shim_env "$mode") "$MAKE" -j2 -f Makefile.40 2>&1; echo "exit=$?")
	echo "$out"
	[ "$out" = "done 40
exit=0" ]
	record make "$mode" "seconds (C project + 40 targets)" $((SECONDS - s))
	if [ "$mode" = shim ]; then
		# make has no threads: the shim must still have run it and
		# written its report. Its pselect for the jobserver and its
		# waits for children are a lone task's waits, made in the
		# kernel itself (docs/design.md, decision 21).
		echo "shim: $(stat_reports) reports, parks sum $(stat_sum parks), lone waits $(stat_sum lone_waits)"
		[ "$(stat_reports)" -ge 2 ]
		[ "$(stat_sum lone_waits)" -ge 1 ]
	fi
}

@test "GNU make -j2 natively: a C project and 40 targets" {
	need "$MAKE" /usr/bin/gcc
	gmake native
}

@test "GNU make -j2 under the shim: a C project and 40 targets" {
	need "$MAKE" /usr/bin/gcc
	gmake shim
}
