# make bench's server plots (scripts/bench.sh): called with dir, srv, modes
# and outfile set; reads dir/p.SRV.MODE, one line per connection count:
# conns req/s p99_us ctxsw/req syscalls/req.
set terminal png size 1100,800 noenhanced
set output outfile
set multiplot layout 2,2 title sprintf("%s server: native threads, evshim (EVSHIM_NET), the epoll reference", srv)
set logscale x
set xlabel "concurrent connections"
set key top right font ",9"
set grid
file(m) = sprintf("%s/p.%s.%s", dir, srv, m)
set title "requests/s (higher is better)"
plot for [m in modes] file(m) using 1:2 with linespoints title m
set logscale y
set title "p99 latency, us (lower is better)"
plot for [m in modes] file(m) using 1:3 with linespoints title m
unset logscale y
set title "context switches per request (lower is better)"
plot for [m in modes] file(m) using 1:4 with linespoints title m
set title "system calls per request (lower is better)"
plot for [m in modes] file(m) using 1:5 with linespoints title m
unset multiplot
