"""Serves Milvus Lite on 127.0.0.1 at a free port, prints {"port": N}, and stops when stdin closes."""

import json
import sys

from milvus_lite.adapter.grpc.server import start_server_in_thread

server, db, port = start_server_in_thread(sys.argv[1], "127.0.0.1", 0)
print(json.dumps({"port": port}), flush=True)
# The parent holds our stdin: when it exits or closes it, we stop, so no server outlives its test.
sys.stdin.read()
server.stop(grace=1)
db.close()
