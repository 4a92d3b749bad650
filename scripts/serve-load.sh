#!/bin/bash
# serve-load.sh MODE OUTDIR CONNS ROUNDS KIND [server args...]
#   MODE: native | ref (also no preload: the epoll reference server) |
#         shim | shim1 (one worker) | shim-epoll | shim-uring (EVSHIM_NET) |
#         shim1-uring
#   KIND: echo | http:FILE
# Runs the server under runstat, drives it with loadgen, waits for the
# server to end by itself (-n CONNS), leaves OUTDIR/MODE.{stat,load,sys}.
# MODE.sys holds "syscalls N": the server's system calls from the moment
# it listens until it exits (the load window), counted by perf stat on the
# raw_syscalls:sys_enter tracepoint, else by strace -c -f (much slower:
# the run's other figures then mean little), else "syscalls -".
# Used by `make run` and `make bench`.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
mode=$1 out=$2 conns=$3 rounds=$4 kind=$5; shift 5
pf="$out/$mode.port" pidf="$out/$mode.pid" sys="$out/$mode.sys"
rm -f "$pf" "$pidf" "$sys" "$out/$mode.err"
pre=()
S=$root/build/libevshim.so
case $mode in
native|ref) ;;
shim) pre=(env LD_PRELOAD="$S") ;;
shim1) pre=(env EVSHIM_WORKERS=1 LD_PRELOAD="$S") ;;
shim-epoll) pre=(env EVSHIM_NET=epoll LD_PRELOAD="$S") ;;
shim-uring) pre=(env EVSHIM_NET=uring LD_PRELOAD="$S") ;;
shim1-uring) pre=(env EVSHIM_WORKERS=1 EVSHIM_NET=uring LD_PRELOAD="$S") ;;
*) echo "serve-load.sh: unknown mode $mode" >&2; exit 2 ;;
esac
counter=none
if perf stat -x, -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then
	counter=perf
elif command -v strace >/dev/null; then
	counter=strace
fi
# shellcheck source=../tests/helpers/wait.bash
. "$root/tests/helpers/wait.bash"  # start_server: bounded wait for the port file
if ! start_server "$pf" timeout 300 "$root/build/bench/runstat" -o "$out/$mode.stat" -p "$pidf" -- \
	"${pre[@]}" "$@" -n "$conns" -P "$pf" ||
	! wait_until "server pid file" test -s "$pidf"; then
	echo "server did not start" >&2
	exit 1
fi
spid=$server_pid
port=$(cat "$pf") spid_srv=$(cat "$pidf")
cpid=
case $counter in
perf) perf stat -x, -e raw_syscalls:sys_enter -p "$spid_srv" -o "$out/$mode.perf" 2>/dev/null &
      cpid=$! ;;
strace) strace -c -f -p "$spid_srv" -o "$out/$mode.strace" 2>/dev/null &
	cpid=$!
	sleep 0.5 ;;  # attached to every thread before the load starts
esac
[ $counter = perf ] && sleep 0.1
if [ "$kind" = echo ]; then
	"$root/build/demo/loadgen" -p "$port" -c "$conns" -r "$rounds" -s 256 -t 120 > "$out/$mode.load" 2> "$out/$mode.err"
else
	f=${kind#http:}
	"$root/build/demo/loadgen" -p "$port" -c "$conns" -r "$rounds" -m http \
		-u "/$(basename "$f")" -F "$f" -t 120 > "$out/$mode.load" 2> "$out/$mode.err"
fi
lrc=$?
wait $spid
src=$?
[ -n "$cpid" ] && wait $cpid 2>/dev/null  # both end when the server does
case $counter in
perf) echo "syscalls $(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$out/$mode.perf")" > "$sys" ;;
strace) echo "syscalls $(awk '$NF == "total" {print $(NF-2)}' "$out/$mode.strace")" > "$sys" ;;
*) echo "syscalls -" > "$sys" ;;
esac
# A failed run says why: the client's complaints and both exit statuses.
if [ $lrc -ne 0 ] || [ $src -ne 0 ]; then
	{ echo "serve-load.sh: $mode: loadgen exit $lrc, server exit $src (124: killed by timeout)"
	  sed 's/^/  loadgen: /' "$out/$mode.err" | head -n 5; } >&2
fi
[ $lrc -eq 0 ] && [ $src -eq 0 ]
