#!/bin/sh
# The Debian packages the stock-program suites (tests/stock/) run. As root,
# install the missing ones, without letting their services start (Debian's
# apache2 and mariadb-server would otherwise start on their default
# addresses); otherwise print the exact apt-get line and fail.
set -e
need=""
check() {  # package, a file it provides
	[ -e "$2" ] || need="$need $1"
}
check libpython3.11-testsuite /usr/lib/python3.11/test/test_socketserver.py  # regrtest.py alone comes with libpython3.11-stdlib
check mariadb-server /usr/sbin/mariadbd
check mariadb-client /usr/bin/mariadb-admin
check sysbench /usr/bin/sysbench
check apache2 /usr/sbin/apache2
check ruby /usr/bin/ruby
check ruby-webrick /usr/share/doc/ruby-webrick/copyright
check tinyproxy /usr/bin/tinyproxy
check postgresql-15 /usr/lib/postgresql/15/bin/pgbench  # brings postgresql-client-15 (psql, pg_isready)
check libglib2.0-tests /usr/libexec/installed-tests/glib/mainloop
check dbus-daemon /usr/bin/dbus-daemon  # GLib's GDBus tests start a private bus (GTestDBus)
check make /usr/bin/make
check gcc /usr/bin/gcc
check time /usr/bin/time
check procps /usr/bin/pgrep
check gdb /usr/bin/gdb
check bats /usr/bin/bats
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "stock-deps: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	# policy-rc.d exit 101: "do not start services" for this install only
	# (left alone if the machine already has one).
	own_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	apt-get update -qq >/dev/null
	rc=0
	apt-get install -y -qq $need >/dev/null || rc=$?
	[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
	exit $rc
else
	echo "stock-deps: missing Debian packages. Run:"
	echo "  sudo apt-get install -y$need"
	exit 1
fi
