"""A stand-in for systemd's notification socket, for tests.

Binds an AF_UNIX datagram socket at argv[1] (Node cannot bind one), prints "listening",
then one JSON line per message received: its fields ("READY=1", "STATUS=...").
File descriptors passed along (systemd-notify's BARRIER=1 pipe) are closed at once, which
is how the real manager acknowledges a barrier.
"""
import array
import json
import os
import socket
import sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print("listening", flush=True)
fd_size = array.array("i").itemsize
while True:
    data, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(16 * fd_size))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fd_size])
            for fd in fds:
                os.close(fd)
    fields = [f for f in data.decode().split("\n") if f]
    print(json.dumps(fields), flush=True)
