"""A TCP relay that delays every byte by a fixed one-way time and can cut the link: a WAN for the drill.

Kernel netem is not available everywhere; this relay runs in its own thread (asyncio). Each direction
keeps order: a chunk read at t is written at t + delay. `cut()` aborts every relayed connection
(data still in flight is lost, like a dead link) and stops listening, so a new connection is refused,
as a dead host's is, until `restore()` listens on the same port again.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time


class Relay:
    def __init__(self, target_host: str, target_port: int, one_way_delay_s: float):
        self.target = (target_host, target_port)
        self.delay = max(0.0, one_way_delay_s)
        self.port: int | None = None
        self.bytes_relayed = 0
        self._cut = False
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relay", daemon=True)

    def start(self) -> int:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        assert self.port is not None, "the relay bound no port"
        return self.port

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port or 0, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._cut:  # cut while connecting
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: collections.deque = collections.deque()
        ready = asyncio.Event()
        done = False

        async def send() -> None:
            while True:
                while not queue:
                    if done:
                        return
                    ready.clear()
                    await ready.wait()
                due, data = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                self.bytes_relayed += len(data)
                await writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                queue.append((time.monotonic() + self.delay, data))
                ready.set()
        finally:
            done = True
            ready.set()
        await sender
        writer.transport.abort()

    def cut(self) -> None:
        """The link dies: every relayed connection is aborted, new ones are refused."""

        async def abort() -> None:
            self._cut = True
            if self._server is not None:
                self._server.close()
                self._server = None
            for _ in range(2):  # and those accepted just before the listener closed, once their handler has run
                for w in list(self._writers):
                    w.transport.abort()
                self._writers.clear()
                await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(abort(), self._loop).result(10)

    def restore(self) -> None:
        async def restore() -> None:
            self._cut = False
            if self._server is None:
                await self._listen()

        asyncio.run_coroutine_threadsafe(restore(), self._loop).result(10)

    def close(self) -> None:
        async def shutdown() -> None:
            self._cut = True
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=2)
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self._loop.set_exception_handler(lambda _loop, _context: None)  # connections torn down on purpose

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
