#!/usr/bin/env bats
# Signals per task, delivered as the kernel would: compared byte for byte
# with the run without the shim.
load helpers/load

@test "a handler interrupting blocked calls: EINTR or restart as signal(7) says, on the calling thread (1 worker)" {
	EVSHIM_WORKERS=1 same_output "$PROGS/sig_interrupt"
	[[ "$native" == *"read, no SA_RESTART: returned -1 EINTR, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"read, SA_RESTART: returned 1, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"recv_timeo, SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"cond, no SA_RESTART: returned 0, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"sem, no SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"sem, SA_RESTART: returned 0"* ]]
}

@test "a handler interrupting blocked calls (2 workers)" {
	EVSHIM_WORKERS=2 same_output "$PROGS/sig_interrupt"
}
