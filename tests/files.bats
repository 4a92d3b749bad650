#!/usr/bin/env bats
# Regular files (page-cache fast path; io_uring, Linux AIO or the blocking
# pool when the call would block) and name resolution on the pool.
# Checksums, offsets and error answers compared with native.
load helpers/load

@test "random pread ranges and sequential reads from 8 threads, pages evicted: same checksums and offsets (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"read 100 at 1000: 100, offset now 1100"* ]]
	[[ "$native" == *"read on a directory: -1 EISDIR"* ]]
}

@test "EVSHIM_IO=pool: same checksums, and the blocking pool served the misses" {
	EVSHIM_IO=pool same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	EVSHIM_IO=pool EVSHIM_STATS=1 run_shim "$PROGS/file_rw" "$BATS_TEST_TMPDIR" > /dev/null 2> "$BATS_TEST_TMPDIR/st"
	cat "$BATS_TEST_TMPDIR/st"
	grep -q "file backend pool" "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of offloads)" -gt 10 ]
	[ "$(stat_of file_fast)" -gt 0 ]
}

@test "EVSHIM_IO=uring: same checksums, and io_uring served the misses" {
	EVSHIM_IO=uring EVSHIM_STATS=1 run_shim "$PROGS/file_rw" "$BATS_TEST_TMPDIR" > /dev/null 2> "$BATS_TEST_TMPDIR/st"
	grep -q "file backend uring" "$BATS_TEST_TMPDIR/st" || skip "io_uring is not usable on this kernel"
	EVSHIM_IO=uring on_workers 1 2 -- same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	cat "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of uring_ops)" -gt 10 ]
}

@test "getnameinfo for numbers only answers on the spot, not on the pool; a lookup by name is a blocking call (stunnel)" {
	on_workers 1 2 -- same_output "$PROGS/numeric_names"
	[[ "$native" == *"ipv4: 0 0 10.0.0.7 port 2007"* ]]
	[[ "$native" == *"ipv6: 0 0 2001:db8::7 port 1007"* ]]
	EVSHIM_IO=pool EVSHIM_STATS=1 run_shim "$PROGS/numeric_names" > /dev/null 2> "$BATS_TEST_TMPDIR/st"
	cat "$BATS_TEST_TMPDIR/st"
	# the threads' 800 numeric calls never reach the pool (what the
	# program's start reads may)
	[ "$(stat_of offloads)" -le 5 ]
	# the one lookup by name, made by main once the threads are joined:
	# the process's only task, so on the spot rather than on the pool
	[ "$(stat_of lone_calls)" -ge 1 ]
}

@test "sendfile of a 3 MB file to 40 connections at once on 1 worker: every byte, no fallback" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	head -c 3000000 /dev/urandom > "$BATS_TEST_TMPDIR/www/big.bin"
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" serve_and_load shim 40 2 \
		-m http -u /big.bin -F "$BATS_TEST_TMPDIR/www/big.bin" -- "$DEMO/http_server" -s -d "$BATS_TEST_TMPDIR/www"
	cat "$BATS_TEST_TMPDIR/st"
	grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of parks)" -gt 40 ]
}

# Small pieces at an explicit offset are copied (preadv2 RWF_NOWAIT, then
# send): 2 system calls instead of 5 (rt/sendfile.c). The peer must see
# sendfile's bytes exactly, the offsets and the file position move as
# sendfile moves them, short counts at end of file, EINVAL for offset -1.
@test "small sendfiles (1 B-40 KB, 3,000 at random offsets) to TCP and AF_UNIX sockets, a late reader, no offset pointer: same bytes, counts and positions; pieces of up to 32 KiB are copied (1 and 2 workers)" {
	T=120 on_workers 1 2 -- same_output "$PROGS/sendfile_small" "$BATS_TEST_TMPDIR"
	for k in "tcp:" "tcp (late reader):" "unix:"; do
		[[ "$native" == *"$k 3001 sendfiles, 58647239 bytes sent, 58647239 received, 0 wrong, 0 not as asked; at end of file 0; offset -1: -1 EINVAL; file position 0"* ]]
	done
	[[ "$native" == *"no offset pointer: sent 5000, position 6000, received 5000, the right bytes"* ]]
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/sendfile_small" "$BATS_TEST_TMPDIR" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/st"
	# about 7,800: the pieces of 32 KiB or less, and the tails of larger
	# ones after a partial send
	[ "$(stat_of sendfile_copies)" -ge 3000 ]
}

@test "sendfile to the program's own non-blocking socket: EAGAIN as natively, every byte, no fallback (Ruby's IO.copy_stream)" {
	on_workers 1 2 -- same_output "$PROGS/sendfile_nonblock" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"sent 3145728 bytes, EAGAIN seen: yes"* ]]
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/sendfile_nonblock" "$BATS_TEST_TMPDIR" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/st"
}

@test "opens and stats the cache refuses but no disk is needed (ENOTDIR through a file, /proc, /sys) are answered on the worker, with the same results" {
	on_workers 1 2 -- same_output "$PROGS/open_local" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"open DIR/file.html/.htaccess: -1 ENOTDIR; stat: -1 ENOTDIR"* ]]
	[[ "$native" == *"open /proc/self/status: ok, starts \"Name:\"; stat: ok, regular"* ]]
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/open_local" "$BATS_TEST_TMPDIR" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# 3 rounds of 7 paths, each an open and a stat; the first round may
	# find some prefixes uncached (they go to the backend).
	[ "$(stat_of open_local)" -ge 24 ]
}

@test "writes, opens, fsync, stat from 12 threads (every write form, pages evicted): same bytes, offsets and errors (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/file_ops" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"offset after pwrite: 100"* ]]
	[[ "$native" == *"offset after append: 557"* ]]
	[[ "$native" == *"read on a directory: -1 EISDIR"* ]]
	[[ "$native" == *"write on a closed fd: -1 EBADF"* ]]
	[[ "$native" == *"open O_EXCL on existing: -1 EEXIST"* ]]
}

# served FILE: the calls a stats report says the shim served itself, at
# once (from the page or dentry cache), through the file backend, or on the
# spot while the process had one thread and no runtime (lone_calls).
served() {
	local n=0 c
	for c in open_fast file_fast uring_ops aio_ops offloads lone_calls; do
		n=$((n + $(stat_of "$c" "$1")))
	done
	echo "$n"
}

@test "each backend (EVSHIM_IO=uring, aio, pool) gives the same bytes and answers, and serves every call" {
	for io in uring aio pool; do
		EVSHIM_IO=$io EVSHIM_WORKERS=1 same_output "$PROGS/file_ops" "$BATS_TEST_TMPDIR"
		EVSHIM_IO=$io EVSHIM_STATS="$BATS_TEST_TMPDIR/st.$io" run_shim "$PROGS/file_ops" "$BATS_TEST_TMPDIR" > /dev/null
		cat "$BATS_TEST_TMPDIR/st.$io"
		# Every open, read, write and sync of the threads is served by the
		# shim. How many at once and how many by the backend depends on
		# what the caches hold (under load a cold dentry cache sends opens
		# to the backend), so only the sum is checked, not the fast path.
		calls=$(sed -n 's/^file calls of the threads.*: //p' <<<"$native")
		echo "$io: the shim served $(served "$BATS_TEST_TMPDIR/st.$io"), the threads made $calls"
		[ "$calls" -gt 5000 ] && [ "$(served "$BATS_TEST_TMPDIR/st.$io")" -ge "$calls" ]
	done
	# the threads' 180 fsync/fdatasync calls always go to the backend
	grep -q "file backend uring" "$BATS_TEST_TMPDIR/st.uring" || skip "io_uring is not usable on this kernel"
	[ "$(stat_of uring_ops "$BATS_TEST_TMPDIR/st.uring")" -gt 100 ]
	grep -q "file backend aio" "$BATS_TEST_TMPDIR/st.aio"
	[ "$(stat_of offloads "$BATS_TEST_TMPDIR/st.aio")" -gt 100 ]  # buffered I/O: the pool
	[ "$(stat_of offloads "$BATS_TEST_TMPDIR/st.pool")" -gt 100 ]
}

@test "O_DIRECT reads and writes: same bytes and EINVALs with every backend; AIO serves them under EVSHIM_IO=aio" {
	same_output "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct
	[[ "$native" != *"not supported"* ]] || skip "no O_DIRECT on $BATS_TEST_TMPDIR"
	[[ "$native" == *"direct pread misaligned offset: -1 EINVAL"* ]]
	[[ "$native" == *"offset: 8192"* ]]
	for io in uring aio pool; do
		EVSHIM_IO=$io EVSHIM_WORKERS=1 same_output "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct
	done
	# 48 threads keep more reads in flight than one reaping batch (32)
	[[ "$native" == *"48 threads of direct preads"* ]]
	EVSHIM_IO=aio EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# the 48 threads' 768 reads; main's 72 calls before the first thread
	# are made on the spot, as natively (one thread, no runtime yet)
	[ "$(stat_of aio_ops)" -ge 768 ]
	[ "$(stat_of lone_calls)" -ge 72 ]
	# io_uring serves the threads' reads too, the one at the file position
	# aside (the pool)
	EVSHIM_IO=uring EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 EVSHIM_STATS="$BATS_TEST_TMPDIR/st2" \
		run_shim "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct > /dev/null
	cat "$BATS_TEST_TMPDIR/st2"
	grep -q "file backend uring" "$BATS_TEST_TMPDIR/st2" || skip "io_uring is not usable on this kernel"
	[ "$(stat_of uring_ops "$BATS_TEST_TMPDIR/st2")" -ge 768 ]
	[ "$(stat_of offloads "$BATS_TEST_TMPDIR/st2")" -le 2 ]
	[ "$(stat_of lone_calls "$BATS_TEST_TMPDIR/st2")" -ge 72 ]
}

# A 64 KiB tmpfs of our own, in a user and mount namespace (no root).
small_fs() {
	unshare -rm sh -c 'mount -t tmpfs -o size=64k evshim "$0" && exec "$@"' "$@"
}

@test "a full filesystem: the same short writes and ENOSPC as native, with every backend" {
	mkdir -p "$BATS_TEST_TMPDIR/small"
	small_fs "$BATS_TEST_TMPDIR/small" true 2>/dev/null || skip "cannot mount a tmpfs in a user namespace here"
	native="$(small_fs "$BATS_TEST_TMPDIR/small" "$PROGS/file_ops" "$BATS_TEST_TMPDIR/small" enospc)"
	echo "$native"
	[[ "$native" == *"ENOSPC"* ]]
	for io in uring aio pool; do
		shimmed="$(small_fs "$BATS_TEST_TMPDIR/small" env EVSHIM_IO=$io LD_PRELOAD="$SHIM" \
			timeout "$T" "$PROGS/file_ops" "$BATS_TEST_TMPDIR/small" enospc)"
		diff <(echo "$native") <(echo "$shimmed")
	done
}

@test "a worker never stalls: while one task reads 64 MiB uncached in one call, another task's socket echo keeps answering (1 worker, no monitor)" {
	out="$("$PROGS/file_stall" "$BATS_TEST_TMPDIR" 64)"
	[[ "$out" != *"cannot evict"* ]] || skip "$out"
	[[ "$out" == *"during the read: yes"* ]]
	for io in uring aio pool; do
		out="$(EVSHIM_IO=$io EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 run_shim "$PROGS/file_stall" "$BATS_TEST_TMPDIR" 64)"
		echo "$io: $out"
		[[ "$out" == *"content right"* ]]
		[[ "$out" == *"during the read: yes"* ]]
	done
	# the control: the same read as a bare system call does stall the worker
	out="$(EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 run_shim "$PROGS/file_stall" "$BATS_TEST_TMPDIR" 64 raw)"
	[[ "$out" == *"during the read: no"* ]]
}

# copy_file_range was made on the worker: the whole copy held it.
@test "a worker never stalls: while one task copies 64 MiB uncached with one copy_file_range, another task's socket echo keeps answering; the copy is right (1 worker, no monitor)" {
	out="$("$PROGS/file_stall" "$BATS_TEST_TMPDIR" 64 copy)"
	[[ "$out" != *"cannot evict"* ]] || skip "$out"
	[[ "$out" == *"content right"*"during the read: yes"* ]]
	out="$(EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/file_stall" "$BATS_TEST_TMPDIR" 64 copy)"
	echo "$out"
	[[ "$out" == *"content right"*"during the read: yes"* ]]
	[ "$(stat_of fallbacks)" = 0 ]
}

@test "sendfile of an uncached file: the backend reads ahead, every byte arrives (1 worker)" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	head -c 20000000 /dev/urandom > "$BATS_TEST_TMPDIR/www/big.bin"
	cp "$BATS_TEST_TMPDIR/www/big.bin" "$BATS_TEST_TMPDIR/expect.bin"  # loadgen reads this one
	sync "$BATS_TEST_TMPDIR/www/big.bin"
	dd if="$BATS_TEST_TMPDIR/www/big.bin" iflag=nocache count=0 status=none
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" serve_and_load shim 4 1 \
		-m http -u /big.bin -F "$BATS_TEST_TMPDIR/expect.bin" -- "$DEMO/http_server" -s -d "$BATS_TEST_TMPDIR/www"
	cat "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of sendfile_ahead)" -gt 0 ]
	grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/st"
}

@test "binaries built for glibc before 2.33 (__xstat, __lxstat, __fxstatat): same answers, and served by the shim" {
	# built with ASan, the program does not load at all (the loader stops at
	# its __xstat@GLIBC_2.2.5 reference: "unexpected PLT reloc type")
	[ -z "${EVSHIM_ASAN:-}" ] || skip "an ASan build of xstat_old cannot be loaded"
	same_output "$PROGS/xstat_old" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"__xstat bad version: -1 EINVAL"* ]]
	LD_DEBUG=bindings LD_DEBUG_OUTPUT="$BATS_TEST_TMPDIR/ld" EVSHIM_STATS="$BATS_TEST_TMPDIR/st" \
		run_shim "$PROGS/xstat_old" "$BATS_TEST_TMPDIR" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# the loader gave the program's old names to the shim, not to glibc
	for name in __xstat __lxstat __fxstatat; do
		grep -q "binding file $PROGS/xstat_old .* to $SHIM \[0\]: normal symbol \`$name'" \
			"$BATS_TEST_TMPDIR"/ld.*
	done
	# and the shim served them: the four stats that succeed, the program's
	# O_CREAT open and its write, each at once (dentry or page cache) or by
	# the backend, whichever the caches allow; so the sum, not open_fast
	[ "$(served "$BATS_TEST_TMPDIR/st")" -ge 6 ]
	[ "$(stat_of fallbacks)" -eq 0 ]
}

@test "/proc and /sys files (no RWF_NOWAIT, no disk): same bytes, read with the plain call instead of a backend hand-off" {
	files="/proc/sys/kernel/ostype /proc/version /proc/sys/kernel/pid_max"
	same_output cat $files
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim cat $files > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# three files, each read until end of file: six reads, none handed off
	[ "$(stat_of file_fast)" -ge 6 ]
}

# The fs.aio-max-nr test changes a system-wide setting: put it back even
# when the test fails.
teardown() {
	if [ -s "$BATS_TEST_TMPDIR/aio-max-nr" ]; then
		cat "$BATS_TEST_TMPDIR/aio-max-nr" > /proc/sys/fs/aio-max-nr
	fi
}

@test "fs.aio-max-nr respected: a small limit gets a small AIO context, none at all gets the pool; same bytes either way" {
	[ -w /proc/sys/fs/aio-max-nr ] || skip "needs root to lower fs.aio-max-nr"
	[ "$(cat /proc/sys/fs/aio-nr)" = 0 ] || skip "other processes hold AIO contexts"
	cat /proc/sys/fs/aio-max-nr > "$BATS_TEST_TMPDIR/aio-max-nr"
	native="$("$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct)"
	[[ "$native" != *"not supported"* ]] || skip "no O_DIRECT on $BATS_TEST_TMPDIR"
	# 16 events: room for the kernel's smallest context (2 x 4 per CPU,
	# on up to 2 CPUs), not for the 128 the shim asks for first
	[ "$(nproc)" -le 2 ] || skip "the smallest context is larger with more CPUs"
	echo 16 > /proc/sys/fs/aio-max-nr
	shimmed="$(EVSHIM_IO=aio EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st1" \
		run_shim "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct)"
	diff <(echo "$native") <(echo "$shimmed")
	[ "$(stat_of aio_ops "$BATS_TEST_TMPDIR/st1")" -ge 66 ]
	echo 0 > /proc/sys/fs/aio-max-nr
	shimmed="$(EVSHIM_IO=aio EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st2" \
		run_shim "$PROGS/file_ops" "$BATS_TEST_TMPDIR" direct 2> "$BATS_TEST_TMPDIR/err")"
	diff <(echo "$native") <(echo "$shimmed")
	grep -q "EVSHIM_IO=aio: Linux AIO is not usable here" "$BATS_TEST_TMPDIR/err"
	grep -q "file backend pool" "$BATS_TEST_TMPDIR/st2"
	[ "$(stat_of offloads "$BATS_TEST_TMPDIR/st2")" -ge 66 ]
}

@test "a single-threaded program whose reads miss the page cache: same fds and one thread, as natively (no runtime started)" {
	same_output "$PROGS/lone_read" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"read 4194304 bytes"* ]]
	[[ "$native" == *"Threads:"*1* ]]
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/lone_read" "$BATS_TEST_TMPDIR" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	grep -q "the runtime never started" "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of lone_calls)" -ge 2 ]
}
