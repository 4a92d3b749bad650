#!/usr/bin/env bats
# Task-local storage: __thread variables, C++ thread_local, errno.
load helpers/load

@test "__thread scalars and arrays stay per thread across sleeps, yields, sockets (1 worker)" {
	EVSHIM_WORKERS=1 same_output "$PROGS/tls_threads"
	[[ "$native" == *"wrong __thread values 0, bad initial values 0, errno lost 0"* ]]
	[[ "$native" == *"main keeps its own value: 12345"* ]]
}

@test "__thread per thread (2 workers)" {
	EVSHIM_WORKERS=2 same_output "$PROGS/tls_threads"
}

@test "__thread per thread with the ucontext switch" {
	EVSHIM_SWITCH=ucontext EVSHIM_WORKERS=1 same_output "$PROGS/tls_threads"
}

@test "C++ thread_local: constructions and destructions counted exactly (1 worker)" {
	EVSHIM_WORKERS=1 same_output "$PROGS/tls_cxx"
	[[ "$native" == *"constructed 50, destroyed 50, seen another's 0"* ]]
}

@test "C++ thread_local (2 workers)" {
	EVSHIM_WORKERS=2 same_output "$PROGS/tls_cxx"
}
