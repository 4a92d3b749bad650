#!/bin/bash
# serve-load.sh MODE OUTDIR CONNS ROUNDS KIND [server args...]
#   MODE: native | shim | shim1 (one worker)   KIND: echo | http:FILE
# Runs the server under runstat, drives it with loadgen, waits for the
# server to end by itself (-n CONNS), leaves OUTDIR/MODE.{stat,load}.
# Used by `make run` and `make bench`.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
mode=$1 out=$2 conns=$3 rounds=$4 kind=$5; shift 5
pf="$out/$mode.port"
pre=()
case $mode in
native) ;;
shim) pre=(env LD_PRELOAD="$root/build/libevshim.so") ;;
shim1) pre=(env EVSHIM_WORKERS=1 LD_PRELOAD="$root/build/libevshim.so") ;;
esac
# shellcheck source=../tests/helpers/wait.bash
. "$root/tests/helpers/wait.bash"  # start_server: bounded wait for the port file
if ! start_server "$pf" timeout 300 "$root/build/bench/runstat" -o "$out/$mode.stat" -- \
	"${pre[@]}" "$@" -n "$conns" -P "$pf"; then
	echo "server did not start" >&2
	exit 1
fi
spid=$server_pid
if [ "$kind" = echo ]; then
	"$root/build/demo/loadgen" -p "$port" -c "$conns" -r "$rounds" -s 256 -t 120 > "$out/$mode.load"
else
	f=${kind#http:}
	"$root/build/demo/loadgen" -p "$port" -c "$conns" -r "$rounds" -m http \
		-u "/$(basename "$f")" -F "$f" -t 120 > "$out/$mode.load"
fi
lrc=$?
wait $spid
src=$?
[ $lrc -eq 0 ] && [ $src -eq 0 ]
