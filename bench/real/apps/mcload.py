# mcload.py - load memcached with the benchmark's items and wait until it
# has taken them all.   python3 mcload.py PORT FILE
import socket, sys

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "rb") as f:
    s.sendall(f.read())
s.sendall(b"version\r\n")
buf = b""
while b"VERSION" not in buf:
    got = s.recv(4096)
    if not got:
        sys.exit("mcload: connection closed")
    buf += got
s.close()
