#!/bin/bash
# Run the stock-program suites (tests/stock/*.bats): Debian's own programs
# natively and under the shim. Figures go to build/stock/figures.tsv (and
# the TAP comments); the last line is the plain summary CI reads.
#   EVSHIM_STOCK=mariadb scripts/run-stock.sh   # only files whose name has it
cd "$(dirname "$0")/.." || exit 2
pass=0 fail=0 skip=0
mkdir -p build/stock
log=build/stock/test.log
: > "$log"
: > build/stock/figures.tsv
start=$SECONDS
for f in tests/stock/*.bats; do
	[ -n "$EVSHIM_STOCK" ] && [[ "$f" != *"$EVSHIM_STOCK"* ]] && continue
	s=$SECONDS
	while IFS= read -r line; do
		echo "$line" >> "$log"
		case $line in
		"not ok "*) fail=$((fail + 1)); echo "FAIL ${f#tests/}: ${line#not ok }" ;;
		"ok "*"# skip"*) skip=$((skip + 1)); echo "skip ${f#tests/}: ${line#ok }" ;;
		"ok "*) pass=$((pass + 1)); echo "ok   ${f#tests/}: ${line#ok }" ;;
		"# figure: "*) echo "    ${line#\# }" ;;
		"#"*) echo "    $line" ;;
		esac
	done < <(bats --tap "$f" 2>&1)
	echo "    (${f#tests/}: $((SECONDS - s)) s)"
done
echo "stock suites: $((SECONDS - start)) s; figures in build/stock/figures.tsv, transcripts in $log"
[ "$skip" -gt 0 ] && echo "($skip skipped: their reasons are on the skip lines above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
