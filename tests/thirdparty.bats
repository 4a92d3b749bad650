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

# SBCL stops the world for its collector with SIGUSR2 and runs a
# collection an allocation asked for inside its SIGTRAP handler (the int3
# ending a pseudo-atomic section), where it writes to pages it protected:
# the nested SIGSEGV was blocked in the kernel and ended the process at
# the first collection from a thread (fault_in_fault, signals.bats).
@test "sbcl: collections from allocating threads, mutexes, a condition ping-pong, with-timeout, interrupt-thread, an echo server thread, run-program: same output (1 and 2 workers)" {
	command -v sbcl > /dev/null || skip "no sbcl"
	local f="$BATS_TEST_TMPDIR/threads.lisp"
	cat > "$f" <<'LISPEOF'
(require :sb-bsd-sockets)
(sb-ext:gc :full t)
(let ((th (sb-thread:make-thread (lambda () (sleep 0.2) :slept))))
  (sb-ext:gc :full t)
  (format t "gc with a sleeping thread: ~a~%" (sb-thread:join-thread th)))
(let ((th (sb-thread:make-thread (lambda () (let ((s 0)) (loop repeat 2000000 do (setf s (+ s (length (make-list 10))))) s)))))
  (format t "alloc ~a~%" (sb-thread:join-thread th)))
(defvar *lock* (sb-thread:make-mutex))
(defvar *cv* (sb-thread:make-waitqueue))
(defvar *count* 0)
(mapc #'sb-thread:join-thread
      (loop repeat 8 collect
        (sb-thread:make-thread (lambda () (loop repeat 20000 do (sb-thread:with-mutex (*lock*) (incf *count*)))))))
(format t "count ~a~%" *count*)
(format t "alloc ~a~%"
        (mapcar #'sb-thread:join-thread
                (loop repeat 4 collect
                  (sb-thread:make-thread (lambda () (let ((s 0)) (loop repeat 200000 do (setf s (+ s (length (make-list 10))))) s))))))
(defvar *turn* 0)
(flet ((player (me next)
         (sb-thread:make-thread
          (lambda ()
            (loop repeat 2000 do
              (sb-thread:with-mutex (*lock*)
                (loop until (= *turn* me) do (sb-thread:condition-wait *cv* *lock*))
                (setf *turn* next)
                (sb-thread:condition-broadcast *cv*)))))))
  (let ((a (player 0 1)) (b (player 1 0)))
    (sb-thread:join-thread a) (sb-thread:join-thread b)
    (format t "pingpong done ~a~%" *turn*)))
(format t "timeout ~a~%" (handler-case (sb-ext:with-timeout 0.2 (sleep 2) :no) (sb-ext:timeout () :yes)))
(let ((th (sb-thread:make-thread (lambda () (handler-case (loop (sleep 0.01)) (error () :interrupted))))))
  (sleep 0.1)
  (sb-thread:interrupt-thread th (lambda () (error "stop")))
  (format t "interrupt ~a~%" (sb-thread:join-thread th)))
(let ((srv (make-instance 'sb-bsd-sockets:inet-socket :type :stream :protocol :tcp)))
  (setf (sb-bsd-sockets:sockopt-reuse-address srv) t)
  (sb-bsd-sockets:socket-bind srv #(127 0 0 1) 0)
  (sb-bsd-sockets:socket-listen srv 5)
  (let* ((port (nth-value 1 (sb-bsd-sockets:socket-name srv)))
         (th (sb-thread:make-thread
              (lambda ()
                (let ((st (sb-bsd-sockets:socket-make-stream (sb-bsd-sockets:socket-accept srv) :input t :output t)))
                  (loop for line = (read-line st nil) while line
                        do (write-line (string-upcase line) st) (force-output st))
                  (close st)
                  :served))))
         (cl (make-instance 'sb-bsd-sockets:inet-socket :type :stream :protocol :tcp)))
    (sb-bsd-sockets:socket-connect cl #(127 0 0 1) port)
    (let ((st (sb-bsd-sockets:socket-make-stream cl :input t :output t)))
      (loop for i below 100 do (format st "line ~a~%" i) (force-output st) (read-line st))
      (format st "last~%") (force-output st)
      (format t "echo ~a~%" (read-line st))
      (close st))
    (format t "server ~a~%" (sb-thread:join-thread th))))
(format t "run-program ~a" (with-output-to-string (s) (sb-ext:run-program "/bin/echo" '("hi") :output s)))
LISPEOF
	T=60 on_workers 1 2 -- same_output sbcl --script "$f"
	[[ "$native" == *"gc with a sleeping thread: SLEPT"*"alloc 20000000"*"count 160000"*"pingpong done 0"*"timeout YES"*"interrupt INTERRUPTED"*"echo LAST"*"server SERVED"*"run-program hi"*"exit=0" ]]
}

@test "mono: Process.Start with async output events and from tasks at once, GC.Collect beside allocating threads, Monitor.Wait/Pulse: same output (1 and 2 workers)" {
	command -v mono > /dev/null && command -v mcs > /dev/null || skip "no mono or mcs"
	local d="$BATS_TEST_TMPDIR"
	cat > "$d/procs.cs" <<'CSEOF'
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
class P {
    static int Main() {
        // the collector stops the threads with a signal, these often allocating
        bool stop = false;
        var hogs = Enumerable.Range(0, 2).Select(i => new Thread(() => {
            var l = new List<int[]>();
            while (!Volatile.Read(ref stop)) {
                for (int k = 0; k < 300; k++) { l.Add(new int[64 + l.Count % 500]); if (l.Count > 2000) l.Clear(); }
                Thread.Sleep(1);
            }
        })).ToList();
        hogs.ForEach(t => t.Start());
        for (int round = 0; round < 4; round++) {
            var psi = new ProcessStartInfo("sh", "-c \"for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 4\"") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var p = new Process { StartInfo = psi };
            var outl = new List<string>(); var errl = new List<string>();
            p.OutputDataReceived += (s, e) => { if (e.Data != null) lock (outl) outl.Add(e.Data); };
            p.ErrorDataReceived += (s, e) => { if (e.Data != null) lock (errl) errl.Add(e.Data); };
            p.Start(); p.BeginOutputReadLine(); p.BeginErrorReadLine(); p.WaitForExit();
            GC.Collect();
            var sums = Enumerable.Range(0, 4).Select(i => Task.Run(() => {
                var q = Process.Start(new ProcessStartInfo("expr", i + " + 10") { RedirectStandardOutput = true, UseShellExecute = false });
                var s = q.StandardOutput.ReadToEnd(); q.WaitForExit(); return int.Parse(s.Trim()); })).ToArray();
            Console.WriteLine("round " + round + ": exit " + p.ExitCode + " " + string.Join(",", outl) + " " + string.Join(",", errl) + " sum " + sums.Sum(t => t.Result));
        }
        Volatile.Write(ref stop, true);
        hogs.ForEach(t => t.Join());
        object gate = new object(); int turn = 0;
        var players = Enumerable.Range(0, 2).Select(me => new Thread(() => {
            for (int k = 0; k < 2000; k++) lock (gate) { while (turn != me) Monitor.Wait(gate); turn = 1 - me; Monitor.PulseAll(gate); }
        })).ToList();
        players.ForEach(t => t.Start()); players.ForEach(t => t.Join());
        Console.WriteLine("pingpong done " + turn);
        return 6;
    }
}
CSEOF
	mcs -out:"$d/procs.exe" "$d/procs.cs" > /dev/null
	T=90 on_workers 1 2 -- same_output mono "$d/procs.exe"
	[[ "$native" == "round 0: exit 4 out1,out2,out3 err1,err2,err3 sum 46"*"round 3: exit 4"*"pingpong done 0"*"exit=6" ]]
}
