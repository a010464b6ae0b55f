"""Running the bot until SIGTERM or SIGINT, by long polling (default) or webhook, with the
HTTP server for /healthz and /metrics beside it.

Stopping is graceful: no new updates are taken (polling stops; the webhook answers 503, so
Telegram keeps them), handlers already running finish, the running outbox batch finishes
and is recorded, then the database closes. Nothing is cut off half-way, and every notice
not yet sent stays planned for the next start."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from telegram.ext import Application

from bot.composition import ALLOWED_UPDATES, METRICS, build_application, leadership
from bot.context import SERVICES
from bot.outbox_sender import sender
from bot.settings import Settings
from bot.web import WebServer, webhook_path
from core.clock import Clock
from storage.leadership import Leadership

log = logging.getLogger(__name__)
GIL_SWITCH_SECONDS = 0.0005
# How often a process that does not poll tries to (and one that polls checks it still
# leads): Telegram has one poller at a time, and a dead one's place is taken within this.
POLLER_CHECK_SECONDS = 2.0


async def serve(settings: Settings, webhook: bool = False, clock: Clock | None = None,
                stop: asyncio.Event | None = None, app: Application | None = None) -> None:
    """Run ``app`` (the real bot unless given: bench/noop_bot.py runs its baseline through
    this same loop) until SIGTERM or SIGINT."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = app or build_application(settings, clock=clock)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    server = None
    if webhook or settings.web_port:
        server = WebServer(app, app.bot_data[METRICS], settings.web_host, settings.web_port,
                           secret if webhook else None, webhook_path(settings.webhook_url),
                           settings.servicing_time)
    registrar = leadership(settings, "webhook") if webhook else None
    poller: Leadership | None = None
    polling: asyncio.Task | None = None
    await app.initialize()
    switch = sys.getswitchinterval()
    try:
        if app.post_init:
            await app.post_init(app)
        if server is not None:
            try:
                await server.start()
            except OSError as error:
                if webhook:
                    raise
                # Polling still works without it: better a bot without /metrics than none.
                log.error("no /healthz or /metrics: cannot listen on %s:%s (%s); set WEB_PORT",
                          settings.web_host, settings.web_port, error.strerror)
                server = None
        # The event loop and aiosqlite's worker thread pass the GIL back and forth on every
        # query. At Python's default switch interval (5 ms) a thread that wants it can wait
        # that long each time (the convoy effect): at 200 updates/s answers queued into a
        # p99 of 85-480 ms; at 0.5 ms, 12-63 ms, for the same CPU (bench/updates.py).
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        if registrar is not None:
            # Several workers may serve one book: the one that leads registers the webhook
            # (setWebhook with the same address and secret leaves Telegram as it was), and
            # holds the lead until it stops, so workers starting meanwhile leave it be.
            if await registrar.try_lead():
                await app.bot.set_webhook(settings.webhook_url, secret_token=secret,
                                          allowed_updates=ALLOWED_UPDATES)
            else:
                log.info("another worker of this deployment registers the webhook")
        else:
            await app.bot.delete_webhook()
            poller = leadership(settings, "polling")
            await poll_while_leading(app, poller)  # at once, if no other process polls
            polling = asyncio.create_task(_keep_polling_while_leading(app, poller))
        await app.start()
        # Everything loaded so far (PTB, matplotlib, the handlers) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stall the
        # event loop for tens of milliseconds (measured with bench/updates.py).
        gc.freeze()
        log.info("running (%s)", "webhook" if webhook else "long polling")
        await stop.wait()
        log.info("stopping: finishing running handlers and the current outbox batch")
        if SERVICES in app.bot_data:  # the outbox batch in hand finishes; none starts
            sender(app).stopping = True
        if server is not None:
            # Before PTB stops reading its queue: a webhook request in flight (a payment
            # being booked, say) finishes and queues its update first; new ones are refused
            # and Telegram delivers them after the restart.
            server.accepting = False
            await server.stop()
        if polling is not None:
            polling.cancel()
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # waits for handlers in flight and running jobs
    finally:
        if polling is not None:
            polling.cancel()
        if server is not None:
            await server.stop()
        if registrar is not None:
            await registrar.release()
        if poller is not None:
            await poller.release()  # another process polls from its next try
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        sys.setswitchinterval(switch)
    log.info("stopped")


async def poll_while_leading(app: Application, poller: Leadership) -> None:
    """Poll if this process leads "polling"; stop if it no longer does. Telegram answers a
    second long poll with 409 Conflict, so of several processes on one book one polls,
    and the others run jobs, drain the outbox and take over kept updates. A poller that
    dies leaves its updates kept in the inbox, which the others take over as orphans, and
    the batch it had not confirmed comes again to the next poller, which passes it over."""
    leads = await poller.try_lead()
    if leads and not app.updater.running:
        log.info("this process polls for updates")
        await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
    elif not leads and app.updater.running:
        log.warning("another process polls now: this one stops")
        await app.updater.stop()


async def _keep_polling_while_leading(app: Application, poller: Leadership) -> None:
    while True:
        await asyncio.sleep(POLLER_CHECK_SECONDS)
        try:
            await poll_while_leading(app, poller)
        except asyncio.CancelledError:
            raise
        except Exception:  # the next try, in a moment
            log.exception("could not take or check the polling lead")
