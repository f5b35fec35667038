"""nats-server's memory against the number of keys in a KV bucket shaped like wcc's history.

The soak (bench/src/soak.rs) lets nats-server grow by `NATS_INDEX_BYTES_PER_HISTORY_KEY` for
every history key a run adds; this measures what one key costs in a bucket that holds nothing
else. It starts its own nats-server on a free port and a fresh store, writes `keys` keys (half
`room.<id>.msg.<n>`, half `msgid.<uuid>`, 300 bytes each, as the history's are), prints the
server's RSS every eighth of the way and after 15 s idle, and stops the server.

    .wcc/venv/bin/pip install nats-py
    .wcc/venv/bin/python bench/scripts/nats_index.py 200000
"""

import asyncio
import socket
import subprocess
import sys
import tempfile
import uuid

import nats
from nats.js.api import KeyValueConfig

NATS_SERVER = ".wcc/venv/bin/nats-server"


def rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(total: int) -> None:
    port = free_port()
    store = tempfile.TemporaryDirectory()
    server = subprocess.Popen(
        [NATS_SERVER, "-js", "-sd", store.name, "-a", "127.0.0.1", "-p", str(port)],
        stderr=subprocess.DEVNULL,
    )
    try:
        nc = await nats.connect(f"nats://127.0.0.1:{port}", max_reconnect_attempts=0)
        js = nc.jetstream()
        await js.create_key_value(KeyValueConfig(bucket="wcc", history=1))
        print(f"keys=0 rss={rss_mib(server.pid)} MiB", flush=True)
        rooms = [str(uuid.uuid4()) for _ in range(10)]
        value = b"x" * 300
        written, step = 0, max(total // 8, 1000)
        while written < total:
            batch = []
            for _ in range(1000):
                if written % 2 == 0:
                    subject = f"$KV.wcc.room.{rooms[written % 10]}.msg.{written}"
                else:
                    subject = f"$KV.wcc.msgid.{uuid.uuid4()}"
                batch.append(js.publish(subject, value))
                written += 1
            await asyncio.gather(*batch)
            if written % step == 0:
                print(f"keys={written} rss={rss_mib(server.pid)} MiB", flush=True)
        await asyncio.sleep(15)
        print(f"keys={written} after 15 s idle rss={rss_mib(server.pid)} MiB", flush=True)
        await nc.close()
    finally:
        server.terminate()
        server.wait()
        store.cleanup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
