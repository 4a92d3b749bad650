#!/usr/bin/env bats
# A blocked receive or accept that ends without its operation running
# (SO_RCVTIMEO, pthread_cancel, a signal, close from another thread)
# leaves the program's buffer untouched, then and after bytes arrive (and a
# send that SO_SNDTIMEO ends never reads its buffer afterwards);
# under EVSHIM_NET=uring the runtime takes the operation back from the
# kernel before the call returns (src/rt/netring.h). Native and shim
# transcripts compared byte for byte, on both EVSHIM_NET settings.
load helpers/load

# The setting the shim reports it runs with (uring falls back to epoll
# where the kernel cannot carry sockets).
net_in_force() {
	EVSHIM_STATS=1 run_shim "$PROGS/net_cancel" close 2>&1 >/dev/null |
		sed -n 's/.*, net \([a-z]*\)$/\1/p'
}

@test "cancelled receives and accepts: same transcript, buffers untouched (uring, 1 worker)" {
	EVSHIM_NET=uring EVSHIM_WORKERS=1 same_output "$PROGS/net_cancel"
	[[ "$native" != *"NO"* ]]
	[[ "$native" == *"timeout: recv -1 EAGAIN, buffer untouched: yes"* ]]
	[[ "$native" == *"cancel: joined, cancelled, buffer untouched: yes"* ]]
	[[ "$native" == *"signal: recv -1 EINTR (handler ran 1)"* ]]
	[[ "$native" == *"sndtimeo: send returned a count, partial: yes; received what it returned: yes, new bytes sent: 0"* ]]
	[[ "$native" == *"__thread buffers: 0 wrong"* ]]
	[[ "$native" == *"__thread send 1: sent 49152, received 49152, 0 wrong bytes"* ]]
}

@test "cancelled receives and accepts (uring, 2 workers)" {
	EVSHIM_NET=uring EVSHIM_WORKERS=2 same_output "$PROGS/net_cancel"
}

@test "cancelled receives and accepts (epoll, 1 and 2 workers)" {
	EVSHIM_NET=epoll EVSHIM_WORKERS=1 same_output "$PROGS/net_cancel"
	EVSHIM_NET=epoll EVSHIM_WORKERS=2 same_output "$PROGS/net_cancel"
}

@test "the same cases with main as the process's only thread, whose waits the kernel makes (both settings, 1 and 2 workers)" {
	for net in uring epoll; do
		EVSHIM_NET=$net on_workers 1 2 -- same_output "$PROGS/net_cancel" alone
	done
	[[ "$native" == *"timeout: recv -1 EAGAIN, buffer untouched: yes"* ]]
	[[ "$native" == *"signal: recv -1 EINTR (handler ran 1)"* ]]
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/net_cancel" alone > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of lone_waits)" -gt 0 ]
}

@test "under uring the cases are ring operations, taken back before the call returns" {
	[ "$(EVSHIM_NET=uring net_in_force)" = uring ] || skip "io_uring cannot carry sockets on this kernel"
	# With a thread pointer per task (EVSHIM_TLS=address, the default) a
	# __thread buffer is the task's own and goes to the ring as it is;
	# with TLS by copying it holds another task's data while its task is
	# parked, so it goes through a bounce buffer.
	for tls in address copy; do
		EVSHIM_TLS=$tls EVSHIM_NET=uring EVSHIM_WORKERS=1 EVSHIM_STATS=1 run_shim "$PROGS/net_cancel" \
			> /dev/null 2> "$BATS_TEST_TMPDIR/err"
		cat "$BATS_TEST_TMPDIR/err"
		cancels=$(awk '$1 == "net_ring_cancels" {print $2}' "$BATS_TEST_TMPDIR/err")
		bounced=$(awk '$1 == "net_ring_bounced" {print $2}' "$BATS_TEST_TMPDIR/err")
		# timeouts (AF_UNIX, TCP, a send), pthread_cancel, two signals, accept
		[ "$cancels" -ge 7 ]
		# copy: four receives into __thread buffers, two sends from them
		if [ $tls = copy ]; then [ "$bounced" -ge 6 ]; else [ "$bounced" = 0 ]; fi
		grep -Eq "^  fallbacks +0$" "$BATS_TEST_TMPDIR/err"
	done
	# and the transcripts are the native ones with TLS by copying too
	EVSHIM_TLS=copy EVSHIM_NET=uring EVSHIM_WORKERS=1 same_output "$PROGS/net_cancel"
}

@test "a parked recv whose fd another thread closes: EBADF, and later bytes never reach the buffer (both settings)" {
	for net in uring epoll; do
		EVSHIM_NET=$net run_shim "$PROGS/net_cancel" close > "$BATS_TEST_TMPDIR/out"
		cat "$BATS_TEST_TMPDIR/out"
		grep -qx "close: recv -1 EBADF" "$BATS_TEST_TMPDIR/out"
		grep -qx "close: buffer untouched: yes" "$BATS_TEST_TMPDIR/out"
		# the close really closed it (the ring held no reference): EPIPE
		grep -qx "close: write to the peer after the close: -1 EPIPE; buffer untouched: yes" \
			"$BATS_TEST_TMPDIR/out"
	done
}

@test "EVSHIM_NET: a bad value is rejected with one line; epoll and uring both reported" {
	EVSHIM_NET=fast run_shim "$PROGS/net_cancel" close > /dev/null 2> "$BATS_TEST_TMPDIR/err"
	grep -q "^evshim\[[0-9]*\]: EVSHIM_NET=fast rejected: expects uring or epoll" "$BATS_TEST_TMPDIR/err"
	[ "$(EVSHIM_NET=epoll net_in_force)" = epoll ]
	[[ "$(EVSHIM_NET=uring net_in_force)" =~ ^(uring|epoll)$ ]]
}
