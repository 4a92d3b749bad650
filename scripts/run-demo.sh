#!/bin/bash
# make run: a stock blocking thread-per-connection echo server, natively
# and under evshim, the same load against each (every byte checked by the
# client), and the context-switch report side by side.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${CONNS:-1000}
ROUNDS=${ROUNDS:-20}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "evshim make run: build/demo/echo_server (thread per connection, blocking I/O)"
echo "load: build/demo/loadgen, $CONNS connections at once x $ROUNDS rounds of 256 bytes, loopback"
echo "machine: $(nproc) CPUs; evshim workers: ${EVSHIM_WORKERS:-$(nproc)}"
echo
ok=1
for mode in native shim; do
	"$root/scripts/serve-load.sh" $mode "$out" "$CONNS" "$ROUNDS" echo "$root/build/demo/echo_server" || ok=0
done
get() { awk -v k="$2" '$1 == k {print $2; exit}' "$out/$1"; }
getl() { awk -v k="$2" -v i="$3" '$1 == k {print $i; exit}' "$out/$1"; }
row() {  # label native shim [ratio-direction]
	local r=""
	if [ -n "${4:-}" ] && [ "$2" != 0 ] && [ "$3" != 0 ]; then
		if [ "$4" = up ]; then r=$(awk -v a="$2" -v b="$3" 'BEGIN{printf "%.2fx", b/a}')
		else r=$(awk -v a="$2" -v b="$3" 'BEGIN{ if (b <= a) printf "%.1fx fewer", a/b; else printf "%.2fx more", b/a }'); fi
	fi
	printf "%-30s %14s %14s   %s\n" "$1" "$2" "$3" "$r"
}
reqs=$((CONNS * ROUNDS))
printf "%-30s %14s %14s   %s\n" "" "native threads" "evshim" "shim vs native"
for m in native shim; do
	eval "${m}_cs=\$(( \$(get $m.stat vol_ctxsw) + \$(get $m.stat invol_ctxsw) ))"
done
row "requests verified" "$(getl native.load requests 4)/$reqs" "$(getl shim.load requests 4)/$reqs"
row "requests/s" "$(getl native.load elapsed_s 4)" "$(getl shim.load elapsed_s 4)" up
row "latency p50 (us)" "$(getl native.load latency_us 3)" "$(getl shim.load latency_us 3)"
row "latency p99 (us)" "$(getl native.load latency_us 5)" "$(getl shim.load latency_us 5)"
row "context switches (total)" "$native_cs" "$shim_cs" down
row "context switches / request" "$(awk -v a=$native_cs -v n=$reqs 'BEGIN{printf "%.3f", a/n}')" \
	"$(awk -v a=$shim_cs -v n=$reqs 'BEGIN{printf "%.3f", a/n}')"
row "  voluntary" "$(get native.stat vol_ctxsw)" "$(get shim.stat vol_ctxsw)"
row "  involuntary" "$(get native.stat invol_ctxsw)" "$(get shim.stat invol_ctxsw)"
row "kernel threads (peak)" "$(get native.stat peak_threads)" "$(get shim.stat peak_threads)" down
row "max RSS (KiB)" "$(get native.stat maxrss_kib)" "$(get shim.stat maxrss_kib)" down
echo
if [ $ok = 1 ]; then
	echo "every response byte-checked by the client: native and evshim both correct"
else
	echo "FAILED: a run did not complete correctly (see above)"
	exit 1
fi
