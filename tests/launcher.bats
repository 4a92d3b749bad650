#!/usr/bin/env bats
# The evshim launcher (scripts/evshim), its man page, make install and
# make uninstall. The launcher runs the program with the library preloaded
# and EVSHIM_* set from its options, refuses (without running the program)
# when the library or the program cannot take part, and passes the
# program's exit status through.
load helpers/load

EVSHIM="$ROOT/scripts/evshim"
VERSION=$(sed -n 's/^#define EVSHIM_VERSION "\(.*\)"$/\1/p' "$ROOT/include/evshim.h")

# Every EVSHIM_ variable the runtime reads (the quoted names in src/), and
# the two the runtime team is adding, which the launcher passes through.
runtime_vars() {
	{ grep -rhoE '"EVSHIM_[A-Z0-9_]+"' "$ROOT/src" | tr -d '"'
	  echo EVSHIM_STATS_FORMAT; echo EVSHIM_DUMP; } | sort -u
}

# make in the tree, quietly (a parent make's jobserver is not ours).
tree_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" "$@" \
		> "$BATS_TEST_TMPDIR/make.out" 2>&1 || { cat "$BATS_TEST_TMPDIR/make.out"; return 1; }
}

# cmd > out 2> err; its status in $rc (the test goes on either way).
capture() {
	rc=0
	"$@" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || rc=$?
	echo "status $rc; stdout: $(cat "$BATS_TEST_TMPDIR/out"); stderr: $(cat "$BATS_TEST_TMPDIR/err")"
}

one_line_err() {  # stderr is exactly one line, containing each argument
	[ "$(wc -l < "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	for s in "$@"; do grep -qF -- "$s" "$BATS_TEST_TMPDIR/err"; done
}

@test "exit statuses pass through: 0, a task's exit(3), 7 from main, 128+N when signal N kills" {
	capture "$EVSHIM" --stats -- "$PROGS/threads_many"
	[ "$rc" -eq 0 ]
	grep -Eq "^  tasks_created +5000$" "$BATS_TEST_TMPDIR/err"   # it ran under the shim
	capture "$EVSHIM" --stats "$PROGS/exit_paths" thread-exit
	[ "$rc" -eq 3 ]
	grep -Eq "^  tasks_created +6$" "$BATS_TEST_TMPDIR/err"
	capture "$EVSHIM" -- "$PROGS/exit_paths" main-return
	[ "$rc" -eq 7 ]
	capture "$EVSHIM" -- sh -c 'kill -TERM $$'
	[ "$rc" -eq 143 ]
	capture "$EVSHIM" -- sh -c 'kill -KILL $$'
	[ "$rc" -eq 137 ]
}

@test "options end at -- or at the program; the program's own options stay its own" {
	capture "$EVSHIM" -w 2 sh -c 'echo "$EVSHIM_WORKERS|$*"' x -w 5 --stats
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "2|-w 5 --stats" ]
	capture "$EVSHIM" --spin=3 -- sh -c 'echo "$EVSHIM_SPIN|$*"' x --spin=4
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "3|--spin=4" ]
}

@test "each option sets the EVSHIM_ variable it names and no other; every variable has an option" {
	cd "$BATS_TEST_TMPDIR"
	# the variables' values in the test's own environment do not count
	clean=(env); for v in $(runtime_vars); do clean+=(-u "$v"); done
	"${clean[@]}" "$EVSHIM" -- env | grep '^EVSHIM_' | sort > base
	cases=(
		"-w 3|EVSHIM_WORKERS=3" "-w3|EVSHIM_WORKERS=3" "--workers 4|EVSHIM_WORKERS=4"
		"--workers=lots|EVSHIM_WORKERS=lots"
		"--max-workers=9|EVSHIM_MAX_WORKERS=9" "--max-workers 8|EVSHIM_MAX_WORKERS=8"
		"-s 64k|EVSHIM_STACK_SIZE=64k" "-s1m|EVSHIM_STACK_SIZE=1m"
		"--stack-size=2m|EVSHIM_STACK_SIZE=2m" "--stack 128k|EVSHIM_STACK_SIZE=128k"
		"--stats|EVSHIM_STATS=1" "--stats=./s.txt|EVSHIM_STATS=./s.txt"
		"--stats-format=json|EVSHIM_STATS_FORMAT=json" "--stats-format json|EVSHIM_STATS_FORMAT=json"
		"-l debug|EVSHIM_LOG=debug" "-linfo|EVSHIM_LOG=info" "--log=warn|EVSHIM_LOG=warn"
		"--log off|EVSHIM_LOG=off"
		"--switch=ucontext|EVSHIM_SWITCH=ucontext" "--switch asm|EVSHIM_SWITCH=asm"
		"--ucontext|EVSHIM_SWITCH=ucontext"
		"--tls=copy|EVSHIM_TLS=copy" "--tls address|EVSHIM_TLS=address"
		"--io=pool|EVSHIM_IO=pool" "--io aio|EVSHIM_IO=aio"
		"--net=epoll|EVSHIM_NET=epoll" "--net uring|EVSHIM_NET=uring" "--pipes=kernel|EVSHIM_PIPES=kernel"
		"--pool-max=7|EVSHIM_POOL_MAX=7" "--pool-max 5|EVSHIM_POOL_MAX=5"
		"--monitor|EVSHIM_MONITOR=1" "--monitor=0|EVSHIM_MONITOR=0" "--no-monitor|EVSHIM_MONITOR=0"
		"--spin=0|EVSHIM_SPIN=0" "--spin 20|EVSHIM_SPIN=20"
		"--dump=SIGUSR1|EVSHIM_DUMP=SIGUSR1" "--dump SIGUSR2|EVSHIM_DUMP=SIGUSR2"
		"--disable|EVSHIM_DISABLE=1" "--disable=0|EVSHIM_DISABLE=0"
	)
	: > covered
	for c in "${cases[@]}"; do
		args=${c%%|*} want=${c#*|}
		# shellcheck disable=SC2086  # the options are words
		"${clean[@]}" "$EVSHIM" $args -- env > out 2> err
		grep '^EVSHIM_' out | sort > got
		{ cat base; echo "$want"; } | sort > expected
		if ! diff expected got; then echo "evshim $args: wanted $want"; return 1; fi
		echo "${want%%=*}" >> covered
	done
	# the launcher passed "lots" on; the runtime judged it
	"${clean[@]}" "$EVSHIM" --workers=lots -- "$PROGS/threads_many" > /dev/null 2> err
	grep -q "EVSHIM_WORKERS=lots rejected" err
	# every variable of the runtime has an option
	sort -u covered > covered.sorted
	runtime_vars > vars
	[ "$(wc -l < vars)" -ge 13 ]
	comm -23 vars covered.sorted > missing
	if [ -s missing ]; then echo "no option for: $(cat missing)"; return 1; fi
}

@test "unknown options and missing values: status 2, usage on stderr, the program never runs" {
	cd "$BATS_TEST_TMPDIR"
	for args in "--wrokers=2" "-x" "--workers" "-w" "--ucontext=1" "--help=x" ""; do
		# shellcheck disable=SC2086
		capture "$EVSHIM" $args
		[ "$rc" -eq 2 ]
		grep -q '^usage: evshim ' err
	done
	capture "$EVSHIM" --wrokers=2 -- sh -c 'touch ran'
	[ "$rc" -eq 2 ]
	grep -q "unknown option: --wrokers=2" err
	[ ! -e ran ] && [ ! -s out ]
	capture "$EVSHIM" -w 2 --frobnicate sh -c 'touch ran'
	[ "$rc" -eq 2 ] && [ ! -e ran ]
}

@test "a library that is not there: status 127, one line naming its path, the program does not run" {
	prefix=/nonexistent-evshim-test-prefix
	[ ! -e "$prefix" ]
	tree_make install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX="$prefix"
	capture "$BATS_TEST_TMPDIR/d$prefix/bin/evshim" -w 2 -- sh -c 'touch "$0"' "$BATS_TEST_TMPDIR/ran"
	[ "$rc" -eq 127 ]
	one_line_err "$prefix/lib/libevshim.so"
	[ ! -e "$BATS_TEST_TMPDIR/ran" ] && [ ! -s "$BATS_TEST_TMPDIR/out" ]
}

@test "a library the loader refuses (not ELF, a dependency missing): status 127, one line, the program does not run" {
	p="$BATS_TEST_TMPDIR/p" ran="$BATS_TEST_TMPDIR/ran"
	tree_make install PREFIX="$p"
	# intact, the installed launcher runs the program under the installed library
	capture "$p/bin/evshim" --stats -- sh -c 'echo "$LD_PRELOAD"; exec true'
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$p/lib/libevshim.so" ]
	grep -q "^evshim stats: .* (pid [0-9]*)" "$BATS_TEST_TMPDIR/err"

	echo "not a shared library" > "$p/lib/libevshim.so"
	# what the launcher guards against: the loader only warns and runs the program
	env LD_PRELOAD="$p/lib/libevshim.so" sh -c 'touch "$0"' "$ran" 2> /dev/null
	[ -e "$ran" ] && rm "$ran"
	capture "$p/bin/evshim" -- sh -c 'touch "$0"' "$ran"
	[ "$rc" -eq 127 ]
	one_line_err "cannot load $p/lib/libevshim.so"
	[ ! -e "$ran" ]

	# a real shared library whose own dependency is gone
	cd "$BATS_TEST_TMPDIR"
	echo 'int gone(void) { return 1; }' > gone.c
	echo 'int gone(void); int use(void) { return gone(); }' > use.c
	gcc -shared -fPIC -o libgone.so gone.c
	gcc -shared -fPIC -o "$p/lib/libevshim.so" use.c -L. -lgone
	rm libgone.so
	capture "$p/bin/evshim" -- sh -c 'touch "$0"' "$ran"
	[ "$rc" -eq 127 ]
	one_line_err "cannot load $p/lib/libevshim.so" "libgone.so"
	[ ! -e "$ran" ]
}

@test "a program the library cannot reach (static, other ELF class), or none at all: refused, not run" {
	cd "$BATS_TEST_TMPDIR"
	printf '#include <stdio.h>\nint main(int c, char **v) { return c > 1 && fopen(v[1], "w") ? 0 : 1; }\n' > st.c
	gcc -static -o st st.c
	# natively the loader never sees LD_PRELOAD: the program runs
	env LD_PRELOAD="$SHIM" ./st ran-native
	[ -e ran-native ]
	capture "$EVSHIM" ./st ran
	[ "$rc" -eq 126 ]
	one_line_err "./st is statically linked"
	[ ! -e ran ]
	# the same ELF file marked 32-bit (ELFCLASS32)
	cp /bin/true t32
	printf '\001' | dd of=t32 bs=1 seek=4 conv=notrunc 2> /dev/null
	capture "$EVSHIM" ./t32
	[ "$rc" -eq 126 ]
	one_line_err "./t32 is for another ELF class or machine"
	capture "$EVSHIM" no-such-program-evshim
	[ "$rc" -eq 127 ]
	one_line_err "no-such-program-evshim: command not found"
	capture "$EVSHIM" ./st.c
	[ "$rc" -eq 126 ]
	one_line_err "./st.c: not an executable file"
	# a script is left to its interpreter
	printf '#!/bin/sh\necho "$LD_PRELOAD"\n' > script; chmod +x script
	capture "$EVSHIM" ./script
	[ "$rc" -eq 0 ] && [ "$(cat out)" = "$SHIM" ]
}

@test "--help describes every EVSHIM_ variable of the source: option, accepted values, default" {
	capture "$EVSHIM" --help
	[ "$rc" -eq 0 ] && [ ! -s "$BATS_TEST_TMPDIR/err" ]
	for v in $(runtime_vars); do
		# the entry is the option line naming v and the lines indented under it
		entry=$(awk -v v="$v" '
			/^  -/ { if (hit) printf "%s", e; e = ""; hit = 0 }
			{ e = e $0 "\n"; if ($0 ~ ("[ ]" v "$")) hit = 1 }
			END { if (hit) printf "%s", e }' "$BATS_TEST_TMPDIR/out")
		echo "$v: $entry"
		[ -n "$entry" ]
		echo "$entry" | grep -q -- '--[a-z]'
		echo "$entry" | grep -q 'Default: '
	done
	grep -q "^Library: $SHIM$" "$BATS_TEST_TMPDIR/out"
}

@test "--version: the launcher's version from include/evshim.h, the library's asked of the library" {
	[ -n "$VERSION" ]
	capture "$EVSHIM" --version
	[ "$rc" -eq 0 ]
	[ "$(sed -n 1p "$BATS_TEST_TMPDIR/out")" = "evshim launcher $VERSION" ]
	[ "$(sed -n 2p "$BATS_TEST_TMPDIR/out")" = "libevshim.so $VERSION ($SHIM)" ]
	# installed, with a library that answers another version
	p="$BATS_TEST_TMPDIR/p"
	tree_make install PREFIX="$p"
	echo 'const char *evshim_version(void) { return "9.8.7-other"; }' > "$BATS_TEST_TMPDIR/v.c"
	gcc -shared -fPIC -o "$p/lib/libevshim.so" "$BATS_TEST_TMPDIR/v.c"
	capture "$p/bin/evshim" -V
	[ "$rc" -eq 0 ]
	[ "$(sed -n 1p "$BATS_TEST_TMPDIR/out")" = "evshim launcher $VERSION" ]
	[ "$(sed -n 2p "$BATS_TEST_TMPDIR/out")" = "libevshim.so 9.8.7-other ($p/lib/libevshim.so)" ]
}

@test "make install DESTDIR= installs exactly its files; make uninstall removes them and nothing else" {
	d="$BATS_TEST_TMPDIR/d"
	tree_make install DESTDIR="$d" PREFIX=/usr/local
	(cd "$d" && find . ! -type d | sort) > "$BATS_TEST_TMPDIR/files"
	printf '%s\n' ./usr/local/bin/evshim ./usr/local/include/evshim.h \
		./usr/local/lib/libevshim.so ./usr/local/share/doc/evshim/differences.md \
		./usr/local/share/man/man1/evshim.1 > "$BATS_TEST_TMPDIR/expected"
	diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/files"
	cmp "$SHIM" "$d/usr/local/lib/libevshim.so"
	cmp "$ROOT/docs/evshim.1" "$d/usr/local/share/man/man1/evshim.1"
	[ -x "$d/usr/local/bin/evshim" ]
	# the launcher names the final path, not the staging one
	grep -qx "libdir='/usr/local/lib'" "$d/usr/local/bin/evshim"
	grep -qx "version='$VERSION'" "$d/usr/local/bin/evshim"
	"$d/usr/local/bin/evshim" --help | grep -qx "Library: /usr/local/lib/libevshim.so"

	touch "$d/usr/local/bin/other-tool" "$d/usr/local/share/man/man1/other.1"
	tree_make uninstall DESTDIR="$d" PREFIX=/usr/local
	(cd "$d" && find . ! -type d | sort) > "$BATS_TEST_TMPDIR/left"
	printf '%s\n' ./usr/local/bin/other-tool ./usr/local/share/man/man1/other.1 > "$BATS_TEST_TMPDIR/expected"
	diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/left"
	[ ! -e "$d/usr/local/share/doc/evshim" ]
	tree_make help
	grep -q "^make install " "$BATS_TEST_TMPDIR/make.out"
	grep -q "^make uninstall " "$BATS_TEST_TMPDIR/make.out"
}

@test "the man page renders without warnings and documents every option and variable" {
	run groff -man -ww -z "$ROOT/docs/evshim.1"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	MANWIDTH=200 man --warnings -l "$ROOT/docs/evshim.1" > "$BATS_TEST_TMPDIR/page" 2> "$BATS_TEST_TMPDIR/err"
	cat "$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT "EXIT STATUS" FILES \
		 "DIFFERENCES FROM A NATIVE RUN" EXAMPLES "SEE ALSO"; do
		grep -qx "$s" "$BATS_TEST_TMPDIR/page"
	done
	# ENVIRONMENT has an entry for each variable, with its default
	for v in $(runtime_vars); do
		entry=$(awk -v v="$v" '
			/^[A-Z]/ { env = ($0 == "ENVIRONMENT") }
			env && /^       [^ ]/ { on = ($0 == "       " v) }
			env && on' "$BATS_TEST_TMPDIR/page")
		echo "$v: $entry"
		echo "$entry" | grep -q 'Default: '
	done
	"$EVSHIM" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u > "$BATS_TEST_TMPDIR/opts"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/opts")" -ge 16 ]
	while read -r o; do
		echo "$o"; grep -Eq -- "$o([^a-z-]|$)" "$BATS_TEST_TMPDIR/page"
	done < "$BATS_TEST_TMPDIR/opts"
}

@test "evshim stats pretty-prints a JSON report" {
	cd "$BATS_TEST_TMPDIR"
	echo '{"program":"ls","pid":123,"workers":2,"file_backend":"uring","counters":{"tasks_created":3,"switches":40,"parks":14},"fallbacks":{"read":2,"flock":1},"parks":{"fd-in":10,"sleep":4},"tasks_peak":3,"kernel_threads_peak":3,"vol_ctxsw":5,"invol_ctxsw":1,"maxrss_kib":2000}' > one.json
	cat > expected <<'EOF'
ls, pid 123: 2 workers, file backend uring
  peak: 3 tasks, 3 kernel threads
  context switches: 5 voluntary, 1 involuntary
  max RSS: 2000 KiB
  counters:
    tasks_created     3
    switches         40
    parks            14
  parks by reason (14 in all):
    fd-in            10
    sleep             4
  fallbacks by call (3 in all):
    read             2
    flock            1
EOF
	capture "$EVSHIM" stats one.json
	[ "$rc" -eq 0 ] && [ ! -s err ]
	diff expected out
	capture "$EVSHIM" stats - < one.json
	[ "$rc" -eq 0 ] && diff expected out
}

@test "evshim stats: missing and unknown keys, several processes, text lines, no report, no file" {
	cd "$BATS_TEST_TMPDIR"
	cat > mixed.json <<'EOF'
{"program":"server","pid":10,"fallbacks":{"flock":1,"read":7},"parks":{}}
evshim stats: pid 11, 2 workers configured, 2 worker slots used, file backend uring
  tasks_created    0

{"pid":12,"counters":{"switches":5},"new_field":"x","parks":{"sleep":"many"}}
[1, 2]
EOF
	capture "$EVSHIM" stats mixed.json
	[ "$rc" -eq 0 ]
	grep -qx "server, pid 10" out
	grep -qx "  fallbacks by call (8 in all):" out
	[ "$(grep -A2 'fallbacks by call' out | tail -n 2 | awk '{print $1}' | tr '\n' ' ')" = "read flock " ]
	grep -qx "  parks by reason: none" out
	grep -qx "(program not named), pid 12" out
	grep -Eqx "    switches +5" out
	grep -Eqx "    new_field +x" out
	grep -Eqx "    sleep +many" out
	[ "$(grep -c '^[^ ]' out)" -eq 2 ]   # two reports
	one_line_err "mixed.json: 3 line(s) not JSON reports, skipped"

	echo "evshim stats: pid 1" > text.txt
	capture "$EVSHIM" stats text.txt
	[ "$rc" -eq 1 ] && [ ! -s out ]
	grep -q "text.txt: no JSON report" err
	capture "$EVSHIM" stats no-such-file.json
	[ "$rc" -eq 1 ]
	one_line_err "no-such-file.json: No such file or directory"
	capture "$EVSHIM" stats
	[ "$rc" -eq 2 ]
	grep -q '^usage: evshim ' err
}

@test "a real run's JSON report reads back with evshim stats" {
	cd "$BATS_TEST_TMPDIR"
	"$EVSHIM" --stats=./run.json --stats-format=json "$PROGS/threads_many" > /dev/null
	head -c 1 run.json | grep -q '{' ||
		skip "the runtime does not write EVSHIM_STATS_FORMAT=json reports yet"
	capture "$EVSHIM" stats run.json
	[ "$rc" -eq 0 ] && [ ! -s err ]
	grep -q "^threads_many, pid [0-9]" out
	grep -Eq "^    tasks_created +5000$" out
}
