#!/bin/sh
# Check the Debian packages the build and the tests need. As root, install
# the missing ones; otherwise print the exact apt-get line and fail.
set -e
need=""
check() {  # package, a file it provides
	[ -e "$2" ] || need="$need $1"
}
check libck-dev /usr/include/ck_stack.h
check libaio-dev /usr/include/libaio.h
check liburing-dev /usr/include/liburing.h
check libunwind-dev /usr/include/x86_64-linux-gnu/libunwind.h
check bats /usr/bin/bats
check gcc /usr/bin/gcc
check make /usr/bin/make
check procps /usr/bin/ps
check strace /usr/bin/strace
check python3 /usr/bin/python3      # evshim --version and evshim stats
check groff-base /usr/bin/groff     # tests/launcher.bats: the man page
check man-db /usr/bin/man
check gnuplot-nox /usr/bin/gnuplot # make bench: the PNG plots
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq $need >/dev/null
else
	echo "deps: missing Debian packages. Run:"
	echo "  sudo apt-get install -y$need"
	exit 1
fi
