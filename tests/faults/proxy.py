"""A TCP proxy in front of PostgreSQL whose link the test can cut and restore.

It runs an asyncio loop in a daemon thread and listens on a free 127.0.0.1 port; every
connection is piped to the upstream server. `cut(mode)` breaks the link the way outages do:

- "refuse": the database is down. Open connections are reset, new ones are accepted and reset
  at once (the client sees the server close the connection before it answers).
- "blackhole": the network swallows everything. Open connections are reset (a partition that
  outlives TCP keepalives ends them anyway), new ones are accepted and then never answered, so the
  client waits for its connect timeout.
- "stall": a silent partition, as it begins. Open connections stay open but nothing more is
  forwarded either way (a query sent is never answered, and TCP keepalives are still acknowledged
  by this side's kernel); new ones are swallowed as in "blackhole".

`restore()` lets new connections through again; the connections held by a cut are reset (their
clients gave up, or a server on the far side of a long partition dropped them).
`restore(keep_silent=True)` after a stall leaves them open and stalled for ever instead: a
firewall or NAT that lost their state drops what they send and tells nobody, so only new
connections work. Nothing is mocked: the service talks to the real server through real sockets.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, Literal, TypeVar

Mode = Literal["refuse", "blackhole", "stall"]
T = TypeVar("T")

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._mode: Mode | None = None  # None: the link is up
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # every open socket, both sides
        self._flowing = asyncio.Event()  # cleared by a stall: the pipes forward nothing
        self._flowing.set()
        self.connections_accepted = 0
        self.links_open = 0  # client connections currently piped to the server

    # --- control, from the test's thread ---------------------------------------------------------

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def cut(self, mode: Mode = "refuse") -> None:
        self._call(self._cut(mode))

    def restore(self, *, keep_silent: bool = False) -> None:
        self._call(self._restore(keep_silent))

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    @property
    def is_cut(self) -> bool:
        return self._mode is not None

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # --- the loop's side --------------------------------------------------------------------------

    async def _cut(self, mode: Mode) -> None:
        self._mode = mode
        if mode == "stall":
            self._flowing.clear()
        else:
            self._reset_all()

    async def _restore(self, keep_silent: bool) -> None:
        self._mode = None
        if keep_silent:
            # The stalled pipes wait on the old event for ever; new links get one of their own.
            self._flowing = asyncio.Event()
            self._flowing.set()
            return
        self._reset_all()  # the held connections go too (blackholed, stalled): clients gave up
        self._flowing.set()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # stop() cancels: end quietly
            await self._serve_one(reader, writer)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        mode = self._mode
        if mode == "refuse":
            _reset(writer)
            return
        self._writers.add(writer)
        if mode in ("blackhole", "stall"):
            await _drain_forever(reader)  # until reset by restore() or stop()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            return
        if self._mode is not None:  # cut while connecting
            _reset(writer)
            _reset(up_writer)
            return
        self._writers.add(up_writer)
        self.links_open += 1
        try:
            await asyncio.gather(
                _pipe(reader, up_writer, self._flowing), _pipe(up_reader, writer, self._flowing)
            )
        finally:
            self.links_open -= 1
        for side in (writer, up_writer):
            self._writers.discard(side)
            _reset(side)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    try:
        while data := await reader.read(_CHUNK):
            await flowing.wait()  # a stall holds the data, and reads no more, until reset
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        _reset(writer)


async def _drain_forever(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(_CHUNK):
            pass


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a dying server or a firewall reject does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextlib.contextmanager
def running_proxy(upstream_host: str, upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_host, upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
