#!/usr/bin/env bats
# Stock third-party programs, unmodified, natively and under the shim.
load helpers/load

PY=/usr/bin/python3

# CPython's http.server is a ThreadingHTTPServer: a thread per connection,
# GIL and all (mutex + condition variable with timed waits), poll() in the
# accept loop, HTTP/1.0 (one request per connection, listen backlog 5, so
# the load comes in batches of 4 connections).
python_http() {  # mode
	local pre=()
	[ "$1" = shim ] && pre=(env LD_PRELOAD="$SHIM" EVSHIM_STATS="$BATS_TEST_TMPDIR/stats")
	mkdir -p "$BATS_TEST_TMPDIR/www"
	[ -f "$BATS_TEST_TMPDIR/www/f.bin" ] || head -c 30000 /dev/urandom > "$BATS_TEST_TMPDIR/www/f.bin"
	port=$(free_port)
	start_server "$port" timeout 120 "${pre[@]}" "$PY" -m http.server "$port" --bind 127.0.0.1 \
		--directory "$BATS_TEST_TMPDIR/www" 2> "$BATS_TEST_TMPDIR/py.$1.log" ||
		{ cat "$BATS_TEST_TMPDIR/py.$1.log"; return 1; }
	local spid=$server_pid ok=0
	for _ in $(seq 25); do
		"$DEMO/loadgen" -p "$port" -c 4 -r 1 -m http -u /f.bin -F "$BATS_TEST_TMPDIR/www/f.bin" -t 30 \
			> /dev/null && ok=$((ok + 4))
	done
	# SIGINT to python itself: timeout(1) would pass it on to python and
	# to its whole process group, a second SIGINT that can end python
	# by the signal mid-shutdown (then no exit report is written)
	kill -INT "$(pgrep -P "$spid")" 2> /dev/null || kill -INT "$spid"
	local st=0
	wait "$spid" || st=$?
	echo "$1: $ok/100 responses byte-checked; the server exited with status $st"
	[ "$ok" -eq 100 ]
	# http.server ends with sys.exit(0) on the KeyboardInterrupt
	[ "$st" -eq 0 ]
}

@test "python3 -m http.server: 100 requests natively" {
	[ -x "$PY" ] || skip "no $PY"
	python_http native
}

@test "python3 -m http.server: 100 requests under the shim, each in a task" {
	[ -x "$PY" ] || skip "no $PY"
	python_http shim
	cat "$BATS_TEST_TMPDIR/stats"
	[ "$(stat_of tasks_created "$BATS_TEST_TMPDIR/stats")" -ge 100 ]
}

# CPython's multiprocessing: Pool with each start method (process-shared
# semaphores for its locks; a thread polling the result pipe another
# thread reads), a spawn Queue. Each pool hung at its end under the shim.
@test "python3 multiprocessing: Pool with fork, spawn and forkserver, a spawn Queue: same output" {
	[ -x "$PY" ] || skip "no $PY"
	cat > "$BATS_TEST_TMPDIR/mp.py" <<'PYEOF'
import multiprocessing as mp
def sq(x): return x * x
if __name__ == '__main__':
    for method in ('fork', 'spawn', 'forkserver'):
        ctx = mp.get_context(method)
        with ctx.Pool(3) as p:
            r = p.map(sq, range(200))
            r2 = [p.apply_async(sq, (i,)).get(timeout=30) for i in range(5)]
        print(method, sum(r), r2, flush=True)
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    pr = ctx.Process(target=q.put, args=('via queue',))
    pr.start(); print(q.get(timeout=30)); pr.join(); print('exitcode', pr.exitcode)
PYEOF
	T=60 same_output "$PY" "$BATS_TEST_TMPDIR/mp.py"
	[[ "$native" == *"forkserver 2646700 [0, 1, 4, 9, 16]"* ]]
	[[ "$native" == *"exitcode 0"* ]]
}

# A Go program built with cgo is dynamically linked, so LD_PRELOAD reaches
# it: its runtime's threads (pthread_create) became tasks and blocked
# their workers in raw futex calls, or ran on each other's signal stacks
# ("fatal error: unknown caller pc"); the shim now steps aside in a Go
# program. Without cgo it is static and the shim never loads.
@test "go (cgo and not): goroutines over net/http, 200 GETs and a ticker beside spinning goroutines: same output" {
	command -v go > /dev/null || skip "no go"
	local d="$BATS_TEST_TMPDIR/gohttp"
	mkdir -p "$d"
	printf 'module gohttp\ngo 1.19\n' > "$d/go.mod"
	cat > "$d/main.go" <<'GOEOF'
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

func body(i int) []byte {
	b := make([]byte, (i*7919)%100000)
	for k := range b {
		b[k] = byte(k*31 + i)
	}
	return b
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path, "/%d", &i)
		w.Write(body(i))
	}))
	var mu sync.Mutex
	var wg sync.WaitGroup
	good := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < 200; i += 8 {
				resp, err := http.Get(fmt.Sprintf("http://%s/%d", ln.Addr(), i))
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if bytes.Equal(b, body(i)) {
					mu.Lock()
					good++
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	fmt.Printf("%d/200 bodies\n", good)
	done := make(chan bool)
	for g := 0; g < 3; g++ {
		go func() {
			x := uint64(1)
			for t0 := time.Now(); time.Since(t0) < 300*time.Millisecond; {
				for k := 0; k < 100000; k++ {
					x = x*6364136223846793005 + 1
				}
			}
			done <- x != 0
		}()
	}
	ticks := 0
	tk := time.NewTicker(10 * time.Millisecond)
	for n := 0; n < 3; {
		select {
		case <-tk.C:
			ticks++
		case <-done:
			n++
		}
	}
	fmt.Println("ticks beside the spinners > 5:", ticks > 5)
}
GOEOF
	for cgo in 1 0; do
		(cd "$d" && HOME="$d" GOCACHE="$d/cache" GOFLAGS=-mod=mod CGO_ENABLED=$cgo timeout 300 go build -o "prog$cgo" .)
		T=60 same_output "$d/prog$cgo"
		[[ "$native" == *"200/200 bodies"* ]]
		[[ "$native" == *"> 5: true"* ]]
	done
}
