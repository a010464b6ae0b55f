"""PTB's requests to the Bot API on aiohttp's client instead of httpx.

Why: httpcore 1.0's connection pool (under httpx, PTB's default) walks every pooled
connection several times on each request and each release, probing every idle socket, so
its cost grows with the square of the pool; at the 64 connections the bot needs to keep 48
updates and the outbox's sends in flight, that bookkeeping was the largest single cost of an
update (bench/updates.py, docs/operations.md). aiohttp — already a dependency for /healthz
and the webhook — keeps idle connections in a queue per host: taking and returning one costs
the same at any pool size.

Timeouts mean what they mean for HTTPXRequest: ``connect`` for the TCP connect, ``read``
for each wait on the socket, ``pool`` for waiting for a free connection; ``write`` has no
separate clock in aiohttp and is part of the request's overall limit (the sum of the four).
Errors become PTB's: a timeout is ``TimedOut``, any other client failure ``NetworkError``,
with the URL (it carries the token) cut from the message.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's "not given, use yours" marker; its class is not exported.
_NOT_GIVEN = type(BaseRequest.DEFAULT_NONE)


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_pool_size: int = 1, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0,
                 media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Made here, not in __init__: a session belongs to the running event loop.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: object = BaseRequest.DEFAULT_NONE,
                         write_timeout: object = BaseRequest.DEFAULT_NONE,
                         connect_timeout: object = BaseRequest.DEFAULT_NONE,
                         pool_timeout: object = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        timeout = aiohttp.ClientTimeout(
            total=_sum(read, write, connect, pool), connect=_sum(pool, connect),
            sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=_body(request_data),
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts are TimeoutErrors
            raise TimedOut(f"aiohttp: {type(error).__name__}") from error
        except aiohttp.ClientError as error:
            # The class name first: some aiohttp errors have an empty message.
            text = str(error).replace(url, "<url>")
            raise NetworkError(f"aiohttp.{type(error).__name__}: {text}") from error


def _given(value: object, default: float | None) -> float | None:
    return default if isinstance(value, _NOT_GIVEN) else value  # type: ignore[return-value]


def _sum(*parts: float | None) -> float | None:
    """A limit made of parts has none if any part has none."""
    return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """What HTTPXRequest sends: the parameters form-encoded, or multipart beside files."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
