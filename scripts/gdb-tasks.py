# gdb helper: list every task of a process under the shim (found by the
# magic word at the start of each struct evs_task, which sits at the top
# of its stack mapping) with what it is parked on, and the backtrace of
# each parked task, unwound from its saved context.
#   gdb -p PID -batch -ex 'thread 1' -ex 'source scripts/gdb-tasks.py'
# The selected thread's registers are borrowed for each unwind and put
# back afterwards; the process is stopped meanwhile. Needs the shim's
# debug information (the default build has it).
import re
import struct

import gdb

MAGIC = 0x6b73745f73766565  # EVS_TASK_MAGIC
REGS = ["rsp", "rip", "rbp", "rbx", "r12", "r13", "r14", "r15"]
# evs_ctx_switch_asm's frame (src/arch/x86_64/switch.S), from the saved sp:
# MXCSR/x87 word, r15, r14, r13, r12, rbx, rbp, return address.
SAVED = [("r15", 8), ("r14", 16), ("r13", 24), ("r12", 32), ("rbx", 40), ("rbp", 48), ("rip", 56)]


def tasks(inf):
    found = []
    for line in open("/proc/%d/maps" % inf.pid):
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        lo, hi, perm = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if not perm.startswith("rw") or hi - lo < 8192:
            continue
        for k in range(1, 5):
            a = hi - k * 4096
            if a < lo:
                break
            try:
                word = struct.unpack("<Q", bytes(inf.read_memory(a, 8)))[0]
            except gdb.MemoryError:
                break
            if word == MAGIC:
                found.append(a)
                break
    return found


def main():
    inf = gdb.selected_inferior()
    names = {f.enumval: f.name[len("EVS_WAIT_"):] for f in gdb.lookup_type("enum evs_wait").fields()}
    saved = {r: int(gdb.parse_and_eval("$" + r)) for r in REGS}
    found = tasks(inf)
    print("%d tasks" % len(found))
    for a in found:
        t = gdb.parse_and_eval("*(struct evs_task *)%d" % a)
        po = int(t["parked_on"])
        print("=== task %d %s: %s obj=0x%x worker=%s" % (
            int(t["id"]), t["name"].string(), names.get(po, "running"),
            int(t["parked_obj"]) & 0xFFFFFFFFFFFFFFFF, t["w"]))
        if po < 0:
            continue
        sp = int(t["ctx"]["sp"])
        try:
            for reg, off in SAVED:
                val = struct.unpack("<Q", bytes(inf.read_memory(sp + off, 8)))[0]
                gdb.execute("set $%s=%d" % (reg, val))
            gdb.execute("set $rsp=%d" % (sp + 64))
            gdb.execute("bt 30")
        except gdb.error as e:
            print("(no backtrace: %s)" % e)
        finally:
            for r in REGS:
                gdb.execute("set $%s=%d" % (r, saved[r]))


main()
