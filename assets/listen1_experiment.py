#!/usr/bin/env python3
"""The write-up's experiment on loopback: listen(1) and never accept(), then
five non-blocking clients. Prints the port, then holds everything open for
--seconds (default 120) and exits, closing every socket it opened."""
import argparse
import errno
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--clients", type=int, default=5)
parser.add_argument("--seconds", type=float, default=120.0)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", args.port))
server.listen(1)
port = server.getsockname()[1]
print(port, flush=True)

clients = []
for _ in range(args.clients):
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    code = client.connect_ex(("127.0.0.1", port))
    if code not in (0, errno.EINPROGRESS):
        sys.exit(f"connect: {errno.errorcode.get(code, code)}")
    clients.append(client)
    time.sleep(0.05)

time.sleep(args.seconds)
for client in clients:
    client.close()
server.close()
