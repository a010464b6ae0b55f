"""The bot's own HTTP server (aiohttp): ``/healthz`` and ``/metrics`` in every mode and, in
webhook mode, the path Telegram posts updates to. Keep it on 127.0.0.1 behind a reverse
proxy (deploy/nginx.conf): only the webhook path should face the internet.

A webhook request is trusted only if it carries the secret token we gave Telegram in
``setWebhook``; anything else is refused with 403 before its body is read. A successful
payment in the update is booked before the 200 (see bot.payments): until then Telegram
keeps the update and sends it again."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.context import services
from bot.inbox import INBOX, Inbox
from bot.metrics import CONTENT_TYPE, Metrics
from bot.outbox_sender import WORKER
from bot.payments import book, payment_in

log = logging.getLogger(__name__)
DEFAULT_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
HEALTH_TIMEOUT = 3.0  # seconds: a database slower than this is not healthy
GRACE = timedelta(hours=1)  # after SERVICING_TIME, before a missing run counts as late


def webhook_path(url: str | None) -> str:
    """The local path for the webhook: the public URL's path (the proxy passes it on)."""
    return (urlsplit(url).path if url else "") or DEFAULT_PATH


class WebServer:
    def __init__(self, app: Application, metrics: Metrics, host: str, port: int,
                 webhook_secret: str | None = None, path: str = DEFAULT_PATH,
                 servicing_at: time = time(6)) -> None:
        self._app, self._metrics = app, metrics
        self._host, self._port = host, port
        self._secret, self._path = webhook_secret, path
        self._servicing_at = servicing_at
        self._runner: web.AppRunner | None = None
        self.accepting = True  # False while shutting down: Telegram will deliver again later

    async def start(self) -> None:
        server = web.Application(client_max_size=2**20)
        server.router.add_get("/healthz", self._healthz)
        server.router.add_get("/metrics", self._metrics_page)
        if self._secret is not None:
            server.router.add_post(self._path, self._webhook)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("HTTP server on %s:%s (%s)", self._host, self._port,
                 "webhook, /healthz, /metrics" if self._secret else "/healthz, /metrics")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _webhook(self, request: web.Request) -> web.Response:
        # surrogateescape: a header that is not UTF-8 is just a wrong secret, not a crash.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, (self._secret or "").encode()):
            log.warning("webhook request without the right secret token refused")
            return web.Response(status=403)
        if not self.accepting:
            return web.Response(status=503)  # shutting down: Telegram retries
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self._app.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("webhook request with a body that is not an update refused")
            return web.Response(status=400)
        payment = payment_in(data)
        if payment is not None:
            try:
                await book(services(self._app), payment)
            except Exception:
                log.exception("could not book payment of update %s; Telegram will resend",
                              update.update_id)
                self._metrics.payments_unbooked.inc()
                return web.Response(status=500)
        inbox: Inbox | None = self._app.bot_data.get(INBOX)
        if inbox is not None:
            try:  # acknowledged only once kept: a crash from here on loses nothing
                ours = await inbox.accept([data])
            except Exception:
                log.exception("could not keep update %s; Telegram will resend",
                              update.update_id)
                return web.Response(status=500)
            if update.update_id not in ours:
                return web.Response(status=200)  # sent again: handled here or by another
        await self._app.update_queue.put(update)
        return web.Response(status=200)

    async def _healthz(self, request: web.Request) -> web.Response:
        found = services(self._app)
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with found.uow.read() as tx:
                    book_now = await tx.health.snapshot(found.clock.now())
        except Exception:
            log.warning("health check: database unreachable", exc_info=True)
            return web.json_response({"status": "down", "database": "unreachable"}, status=503)
        last = book_now.last_servicing
        late = last is None or last < self._expected_servicing(found)
        return web.json_response({
            "status": "degraded" if late else "ok",
            "database": "ok",
            "last_servicing": last.isoformat() if last else None,
            "servicing_late": late,
            "outbox_backlog": book_now.outbox_due,
            "outbox_failed": book_now.outbox.get("failed", 0),
            "open_alerts": book_now.open_alerts,
            # Which of the deployment's workers answers, and whether it is the one polling.
            "worker": worker.id if (worker := self._app.bot_data.get(WORKER)) else None,
            "polling": bool(self._app.updater and self._app.updater.running),
        })

    def _expected_servicing(self, found) -> date:
        """The business date whose run should have finished by now: today once an hour has
        passed since SERVICING_TIME (a run takes seconds to minutes), else yesterday."""
        now = found.clock.now().astimezone(found.tz)
        due = datetime.combine(now.date(), self._servicing_at, tzinfo=found.tz)
        return now.date() if now >= due + GRACE else now.date() - timedelta(days=1)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        found = services(self._app)
        body = await self._metrics.scrape(found.uow, found.clock, found.tz)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
