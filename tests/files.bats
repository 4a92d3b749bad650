#!/usr/bin/env bats
# Regular files (page-cache fast path, blocking pool on a miss) and name
# resolution on the pool. Checksums and answers compared with native.
load helpers/load

@test "random pread ranges and sequential reads from 8 threads, pages evicted: same checksums and offsets (1 worker)" {
	EVSHIM_WORKERS=1 same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	[[ "$native" == *"read 100 at 1000: 100, offset now 1100"* ]]
	[[ "$native" == *"read on a directory: -1 EISDIR"* ]]
}

@test "file reads (2 workers)" {
	EVSHIM_WORKERS=2 same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
}

@test "EVSHIM_IO=pool: same checksums, and the blocking pool served the misses" {
	EVSHIM_IO=pool same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	EVSHIM_IO=pool EVSHIM_STATS=1 run_shim "$PROGS/file_rw" "$BATS_TEST_TMPDIR" > /dev/null 2> "$BATS_TEST_TMPDIR/st"
	cat "$BATS_TEST_TMPDIR/st"
	grep -q "file backend pool" "$BATS_TEST_TMPDIR/st"
	[ "$(awk '$1 == "offloads" {print $2}' "$BATS_TEST_TMPDIR/st")" -gt 10 ]
	[ "$(awk '$1 == "file_fast" {print $2}' "$BATS_TEST_TMPDIR/st")" -gt 0 ]
}

@test "EVSHIM_IO=uring: same checksums, and io_uring served the misses" {
	EVSHIM_IO=uring EVSHIM_STATS=1 run_shim "$PROGS/file_rw" "$BATS_TEST_TMPDIR" > /dev/null 2> "$BATS_TEST_TMPDIR/st"
	grep -q "file backend uring" "$BATS_TEST_TMPDIR/st" || skip "io_uring is not usable on this kernel"
	EVSHIM_IO=uring EVSHIM_WORKERS=1 same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	EVSHIM_IO=uring EVSHIM_WORKERS=2 same_output "$PROGS/file_rw" "$BATS_TEST_TMPDIR"
	cat "$BATS_TEST_TMPDIR/st"
	[ "$(awk '$1 == "uring_reads" {print $2}' "$BATS_TEST_TMPDIR/st")" -gt 10 ]
}

@test "sendfile of a 3 MB file to 40 connections at once on 1 worker: every byte, no fallback" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	head -c 3000000 /dev/urandom > "$BATS_TEST_TMPDIR/www/big.bin"
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" timeout 120 env LD_PRELOAD="$SHIM" \
		"$DEMO/http_server" -s -n 40 -P "$BATS_TEST_TMPDIR/port" -d "$BATS_TEST_TMPDIR/www" > /dev/null &
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
	"$DEMO/loadgen" -p "$(cat "$BATS_TEST_TMPDIR/port")" -c 40 -r 2 -m http -u /big.bin \
		-F "$BATS_TEST_TMPDIR/www/big.bin" -t 100
	wait
	cat "$BATS_TEST_TMPDIR/st"
	grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/st"
	[ "$(awk '$1 == "parks" {print $2}' "$BATS_TEST_TMPDIR/st")" -gt 40 ]
}
