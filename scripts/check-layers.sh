#!/bin/bash
# The layer check (make test runs it): code may use only its own layer and
# the ones below it. Order, lowest first (docs/design.md, "Layers"):
#   base   src/evs.h, src/list.h, include/evshim.h
#   arch   src/arch/      the context switch, CPU details; src/lock.h
#   libc   src/libc/      the real libc functions, raw system calls
#   obs    src/obs/       counters' names, the report's format, the log
#   io     src/io/        the poller, the io_uring and AIO backends
#   rt     src/rt/        tasks, scheduler, timers, fd table, backends' use
#   sync   src/sync/      synchronization objects and the parking lot
#   hook   src/hook/      the interposed libc names
# Two checks: every #include "..." of a source file, and every symbol an
# object file uses that another object of the library defines (so a call
# up a layer, or from the runtime into an interposed name, fails too).
# Usage: check-layers.sh [BUILD_DIR]   (objects from BUILD_DIR/src)
set -u
cd "$(dirname "$0")/.." || exit 2
build=${1:-build}
rank_awk='function rank(p) {
	if (p ~ /^src\/(evs|list)$/) return 0
	if (p ~ /^src\/arch\// || p == "src/lock") return 1
	if (p ~ /^src\/libc\//) return 2
	if (p ~ /^src\/obs\//) return 3
	if (p ~ /^src\/io\//) return 4
	if (p ~ /^src\/rt\//) return 5
	if (p ~ /^src\/sync\//) return 6
	if (p ~ /^src\/hook\//) return 7
	return 99
}'
bad=0
# 1. includes, resolved against the including file's folder
inc=$(find src -name '*.[chS]' | sort | xargs awk '
	FNR == 1 { dir = FILENAME; sub(/\/[^\/]*$/, "", dir) }
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		t = $0; sub(/^[^"]*"/, "", t); sub(/".*/, "", t)
		n = split(dir "/" t, part, "/"); k = 0
		for (i = 1; i <= n; i++) {
			if (part[i] == "..") k--
			else if (part[i] != ".") out[++k] = part[i]
		}
		p = out[1]; for (i = 2; i <= k; i++) p = p "/" out[i]
		print FILENAME, p
	}')
# 2. symbols: one list of "D symbol object" and "U symbol object" lines
# (objects whose source is gone are stale and skipped)
objs=$(find "$build/src" -name '*.o' 2>/dev/null | sort | while read -r o; do
	src=${o#$build/}; src=${src%.o}
	{ [ -e "$src.c" ] || [ -e "$src.S" ]; } && echo "$o"
done)
list=$( { [ -z "$objs" ] || { nm -A --defined-only -g $objs | awk '{print "D", $3, $1}'
	nm -A -u $objs | awk '{print "U", $NF, $1}'; }; } |
	sed "s| $build/\([^:]*\)\.o:[^ ]*$| \1|")
if [ -z "$list" ]; then
	echo "layer check: no objects under $build/src (build first)"
	exit 1
fi
upinc=$(awk "$rank_awk"'
	{ f = $1; t = $2; sub(/\.[chS]$/, "", f); sub(/\.[chS]$/, "", t); sub(/^include\/.*/, "src/evs", t)
	  if (rank(t) > rank(f)) print "layer check: " $1 " includes " $2 " (a higher layer)" }' <<< "$inc")
if [ -n "$upinc" ]; then
	echo "$upinc"
	bad=1
fi
up=$(awk "$rank_awk"'
	$1 == "D" { owner[$2] = $3; next }
	{ use[++n] = $2 " " $3 }
	END {
		for (i = 1; i <= n; i++) {
			split(use[i], u, " ")
			if ((u[1] in owner) && rank(owner[u[1]]) > rank(u[2]))
				print "layer check: " u[2] " uses " u[1] ", defined in " owner[u[1]] " (a higher layer)"
		}
	}' <<< "$list")
if [ -n "$up" ]; then
	echo "$up"
	bad=1
fi
[ $bad = 0 ] && echo "layer check: every include and symbol goes down or sideways"
exit $bad
