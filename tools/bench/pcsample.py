#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sampling profiler for the QEMU guest, through QEMU's gdbstub.

    pcsample.py HOST:PORT OUTFILE [--hz N]

Connects to the gdbstub (QEMU -gdb tcp::PORT), then HZ times a second stops
the guest, reads the instruction pointer of every vCPU and lets it go on.
Writes one line per vCPU and sample, "host_time vcpu rip" (rip in hex), until
the connection closes (the guest powered off). Used by tools/bench/profile.sh.

Stopping a TCG guest costs some tens of microseconds of host time; at 200 Hz
the guest loses a few percent of its speed, the same for every function, so
the profile's proportions hold.
"""
import socket
import sys
import time


class Rsp:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        for _ in range(300):
            try:
                self.s = socket.create_connection((host, int(port)))
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"pcsample: cannot connect to {addr}")
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.ack = True

    def _read(self):
        data = self.s.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def recv_packet(self):
        while True:
            i = self.buf.find(b"$")
            if i >= 0:
                j = self.buf.find(b"#", i)
                if j >= 0 and len(self.buf) >= j + 3:
                    pkt = self.buf[i + 1:j]
                    self.buf = self.buf[j + 3:]
                    if self.ack:
                        self.s.sendall(b"+")
                    return pkt.decode("latin-1")
            self._read()

    def send(self, data):
        cs = sum(data.encode("latin-1")) & 0xff
        self.s.sendall(f"${data}#{cs:02x}".encode("latin-1"))
        if self.ack:
            while True:
                while not self.buf:
                    self._read()
                c, self.buf = self.buf[:1], self.buf[1:]
                if c == b"+":
                    return
                if c == b"-":
                    self.s.sendall(f"${data}#{cs:02x}".encode("latin-1"))

    def cmd(self, data):
        self.send(data)
        return self.recv_packet()


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    hz = 200.0
    if "--hz" in sys.argv:
        hz = float(sys.argv[sys.argv.index("--hz") + 1])
    r = Rsp(sys.argv[1])
    out = open(sys.argv[2], "w")
    # The stub stops the guest when gdb attaches: learn the vCPUs, go on.
    if r.cmd("QStartNoAckMode") == "OK":
        r.ack = False
    r.cmd("?")
    threads = []
    reply = r.cmd("qfThreadInfo")
    while reply.startswith("m"):
        threads += reply[1:].split(",")
        reply = r.cmd("qsThreadInfo")
    if not threads:
        threads = ["1"]
    period = 1.0 / hz
    n = 0
    try:
        r.send("c")
        while True:
            time.sleep(period)
            r.s.sendall(b"\x03")
            r.recv_packet()  # stop reply
            t = time.time()
            for k, th in enumerate(threads):
                if len(threads) > 1:
                    r.cmd(f"Hg{th}")
                val = r.cmd("p10")
                if len(val) != 16:
                    val = r.cmd("g")[16 * 16:17 * 16]
                if len(val) == 16:
                    rip = int.from_bytes(bytes.fromhex(val), "little")
                    out.write(f"{t:.4f} {k} {rip:x}\n")
            n += 1
            r.send("c")
    except (EOFError, ConnectionError, OSError):
        pass
    out.close()
    print(f"pcsample: {n} samples", file=sys.stderr)


if __name__ == "__main__":
    main()
