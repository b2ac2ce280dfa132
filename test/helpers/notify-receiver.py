# A stand-in for systemd's notify socket, for tests: binds an AF_UNIX datagram socket (a path, or an
# abstract name given as '@name'), prints "listening", then one JSON line per datagram with the time
# it arrived (monotonic ms), the sender's pid from SCM_CREDENTIALS (what NotifyAccess=main checks)
# and the text. Node has no AF_UNIX datagram sockets; python3's socket module is an independent
# implementation of the other end.
import json
import socket
import struct
import sys
import time

name = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind('\0' + name[1:] if name.startswith('@') else name)
print('listening', flush=True)
ucred_size = struct.calcsize('3i')
while True:
    data, ancillary, _flags, _address = sock.recvmsg(4096, socket.CMSG_SPACE(ucred_size))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack('3i', payload[:ucred_size])[0]
    line = {'at': time.monotonic() * 1000, 'pid': pid, 'text': data.decode('utf-8', 'replace')}
    print(json.dumps(line), flush=True)
