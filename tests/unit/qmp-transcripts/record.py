#!/usr/bin/env python3
"""Records QMP transcripts from a real QEMU for tests/unit/test_qmp.c.

Usage: record.py QEMU KERNEL INITRD OUTDIR
The guest (KERNEL + INITRD, any initrd whose /init stays up) must boot so
that ACPI hotplug answers device_del. Lines are written as
    <- {...}   sent by QEMU     -> {...}   sent by the client
with the "id" member removed (test_qmp's fake peer puts the client's id back
into replies) and timestamps kept as QEMU sent them. stdlib only.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


class Rec:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        for _ in range(200):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.sock.makefile("rwb", buffering=0)
        self.lines = []
        self.seen = []
        self.seen = []

    def close(self):
        self.f.close()
        self.sock.close()

    def recv(self):
        line = self.f.readline()
        if not line:
            raise EOFError
        obj = json.loads(line)
        obj.pop("id", None)
        self.seen.append(obj)
        self.lines.append("<- " + json.dumps(obj))
        return obj

    def send(self, cmd, args=None):
        msg = {"execute": cmd}
        if args is not None:
            msg["arguments"] = args
        self.lines.append("-> " + json.dumps(msg))
        msg["id"] = "rec"
        self.f.write((json.dumps(msg) + "\n").encode())

    def cmd(self, cmd, args=None):
        self.send(cmd, args)
        while True:
            obj = self.recv()
            if "return" in obj or "error" in obj:
                return obj

    def until_event(self, name, key=None, value=None, timeout=10):
        self.sock.settimeout(timeout)
        for obj in self.seen:
            if obj.get("event") == name and (key is None or obj.get("data", {}).get(key) == value):
                self.seen.remove(obj)
                return obj
        while True:
            obj = self.recv()
            if obj.get("event") == name and (key is None or obj.get("data", {}).get(key) == value):
                self.seen.remove(obj)
                return obj

    def save(self, path, header):
        with open(path, "w") as f:
            f.write("# " + header + "\n")
            for line in self.lines:
                f.write(line + "\n")
        self.lines = []
        self.seen = []


def main():
    qemu, kernel, initrd, out = sys.argv[1:5]
    tmp = tempfile.mkdtemp()
    qmp = os.path.join(tmp, "qmp.sock")
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    p = subprocess.Popen([qemu, "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256,slots=2,maxmem=1G",
                          "-smp", "1,maxcpus=2", "-nodefaults", "-no-user-config", "-display", "none",
                          "-no-reboot", "-qmp", f"unix:{qmp},server=on,wait=off",
                          "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
                          "-kernel", kernel, "-initrd", initrd,
                          "-append", "console=ttyS0 quiet panic=1 cryptomgr.notests"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.save(os.path.join(out, "greeting.txt"), "QEMU 7.2 greeting and capabilities negotiation")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.cmd("query-status")
    r.cmd("stop")
    r.until_event("STOP")
    r.cmd("query-status")
    r.cmd("cont")
    r.until_event("RESUME")
    r.save(os.path.join(out, "stop-cont.txt"), "query-status, stop (STOP event), cont (RESUME event)")
    time.sleep(6)  # let the guest finish booting so that ACPI hotplug answers
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.cmd("blockdev-add", {"driver": "raw", "node-name": "hp0", "read-only": False,
                           "file": {"driver": "file", "filename": disk}})
    r.cmd("device_add", {"driver": "virtio-blk-pci", "id": "hpdisk0", "drive": "hp0", "bus": "rp1"})
    time.sleep(3)  # the guest must have taken the device before it can eject it
    r.send("device_del", {"id": "hpdisk0"})
    r.until_event("DEVICE_DELETED", "device", "hpdisk0", timeout=20)
    r.cmd("blockdev-del", {"node-name": "hp0"})
    r.save(os.path.join(out, "block-hotplug.txt"),
           "blockdev-add, device_add on a root port, device_del answered by the guest (two DEVICE_DELETED)")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.cmd("device_add", {"driver": "no-such-device", "id": "x"})
    r.cmd("blockdev-del", {"node-name": "nothing"})
    r.save(os.path.join(out, "errors.txt"), "error replies")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.cmd("query-hotpluggable-cpus")
    r.cmd("device_add", {"driver": "max-x86_64-cpu", "id": "cpu1", "core-id": 1, "thread-id": 0,
                         "socket-id": 0})
    r.save(os.path.join(out, "cpus.txt"), "CPU hotplug: query-hotpluggable-cpus (-smp 1,maxcpus=2), device_add")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "memm1", "size": 128 << 20})
    r.cmd("device_add", {"driver": "pc-dimm", "id": "dimmm1", "memdev": "memm1"})
    r.save(os.path.join(out, "memory.txt"), "memory hotplug: object-add + pc-dimm (-m 256,slots=2,maxmem=1G)")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    rd, wr = os.pipe()
    msg = {"execute": "getfd", "arguments": {"fdname": "fd0"}}
    r.lines.append("-> " + json.dumps(msg))
    msg["id"] = "rec"
    socket.send_fds(r.sock, [(json.dumps(msg) + "\n").encode()], [rd])
    while "return" not in r.recv():
        pass
    r.cmd("netdev_add", {"type": "tap", "id": "net0", "fd": "fd0", "vhost": True})
    r.cmd("closefd", {"fdname": "fd0"})
    os.close(rd)
    os.close(wr)
    r.save(os.path.join(out, "getfd-netdev.txt"),
           "getfd with SCM_RIGHTS; netdev_add refuses a pipe (not a tap); closefd")
    r.close()
    r = Rec(qmp)
    r.recv()
    r.cmd("qmp_capabilities")
    r.send("quit")
    try:
        while True:
            r.recv()
    except (EOFError, OSError):
        pass
    r.save(os.path.join(out, "quit.txt"), "quit: SHUTDOWN host-qmp-quit, then EOF")
    p.wait(timeout=10)
    os.unlink(disk)


if __name__ == "__main__":
    main()
