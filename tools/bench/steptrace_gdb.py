# SPDX-License-Identifier: GPL-2.0
"""gdb script for tools/bench/steptrace.sh: counts the instructions of whole
calls of a kernel function, one by one, with single steps.

Reads its parameters from the environment:
  STEP_FUNC   address of the function entered (hex)
  STEP_FUNC_RS  address of the Rust function entered instead, if any
  STEP_SKIP   calls to let pass first (warm-up)
  STEP_CALLS  calls to trace, per implementation seen
  STEP_IMPL_ADDR  address of a kernel variable that says which implementation
              serves the ioctl (the hook's handler pointer; 0 means C)
  STEP_USE_C_ADDR  address of the bool that sends the ioctl to C anyway
  STEP_OUT    output file: one line per traced call, "impl n pc:count ..."
  STEP_MAX    cap on the steps of one call
  STEP_ARCH   the guest's architecture: x86_64 (default) or arm64

While single-stepping, QEMU keeps interrupts and timers off the stepped
vCPU (its default sstep flags), so a call's count is exact and repeatable.
"""
import os

import gdb

func = int(os.environ["STEP_FUNC"], 16)
skip = int(os.environ.get("STEP_SKIP", "3"))
calls = int(os.environ.get("STEP_CALLS", "1"))
impl_addr = int(os.environ.get("STEP_IMPL_ADDR", "0"), 16)
use_c_addr = int(os.environ.get("STEP_USE_C_ADDR", "0"), 16)
out = open(os.environ["STEP_OUT"], "w")
maxsteps = int(os.environ.get("STEP_MAX", "2000000"))

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("target remote " + os.environ["STEP_TARGET"])
gdb.execute(f"break *{func:#x}")
if os.environ.get("STEP_FUNC_RS"):
    gdb.execute(f"break *{int(os.environ['STEP_FUNC_RS'], 16):#x}")

inf = gdb.selected_inferior()


def reg(name):
    return int(gdb.parse_and_eval(f"(unsigned long)${name}")) & (2**64 - 1)


def u64(addr):
    return int.from_bytes(inf.read_memory(addr, 8).tobytes(), "little")


if os.environ.get("STEP_ARCH", "x86_64") == "arm64":
    # The return address is in the link register at entry, and the call
    # is over when the pc gets there with the stack pointer back.
    PC, SP = "pc", "sp"

    def return_address(sp0):
        return reg("x30")

    def returned(sp0):
        return reg("sp") >= sp0
else:
    # The return address is on the stack at entry, popped by the return.
    PC, SP = "rip", "rsp"

    def return_address(sp0):
        return u64(sp0)

    def returned(sp0):
        return reg("rsp") > sp0


done = {}
seen = {}
scanfn_written = False
while True:
    try:
        gdb.execute("continue", to_string=True)
    except gdb.error:
        break  # the guest is gone
    rust = impl_addr and u64(impl_addr) and not (use_c_addr and u64(use_c_addr) & 0xff)
    impl = "rust" if rust else "c"
    seen[impl] = seen.get(impl, 0) + 1
    if seen[impl] <= skip or done.get(impl, 0) >= calls:
        if all(done.get(i, 0) >= calls for i in ("c", "rust")):
            break
        continue
    if rust and not scanfn_written:
        # Where the module's scan function is (struct
        # pagemap_scan_handler's third word): the reports place the
        # module's symbols by it (/proc/modules gives the start of its text
        # region, which on arm64 begins with PLTs).
        out.write(f"scanfn {u64(u64(impl_addr) + 16):x}\n")
        scanfn_written = True
    sp0 = reg(SP)
    ret = return_address(sp0)
    counts = {}
    n = 0
    while n < maxsteps:
        pc = reg(PC)
        if pc == ret and returned(sp0):
            break
        counts[pc] = counts.get(pc, 0) + 1
        n += 1
        gdb.execute("stepi", to_string=True)
    out.write(f"{impl} {n} " + " ".join(f"{pc:x}:{c}" for pc, c in counts.items()) + "\n")
    out.flush()
    done[impl] = done.get(impl, 0) + 1
    gdb.write(f"steptrace: {impl} call traced, {n} instructions\n")
    if all(done.get(i, 0) >= calls for i in ("c", "rust")):
        break

out.close()
try:
    gdb.execute("kill")
except gdb.error:
    pass
