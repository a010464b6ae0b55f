"""The bot's rate limiter: a 429 holds every request until its pause is over, whatever else
finishes meanwhile; bulk sends leave room, so a reply goes out ahead of a queue of them.
Orderings and lower bounds only: a busy machine can make things slower, never wrong."""

import asyncio

from telegram.error import RetryAfter

from bot.rate_limit import BULK, LaneRateLimiter


async def test_a_429_pauses_everyone_until_it_is_over():
    """B is in flight when A is told to wait; B finishing must not end A's pause for C."""
    limiter = LaneRateLimiter(overall_max_rate=100, max_retries=2)
    loop = asyncio.get_running_loop()
    calls: list[tuple[str, float]] = []
    refused_at: list[float] = []

    async def send(name: str, refuse: bool = False, slow: float = 0.0):
        calls.append((name, loop.time()))
        if refuse and not refused_at:
            refused_at.append(loop.time())
            raise RetryAfter(1)
        await asyncio.sleep(slow)
        return True

    async def request(name: str, refuse: bool = False, slow: float = 0.0):
        return await limiter.process_request(
            lambda: send(name, refuse, slow), (), {}, "sendMessage", {"chat_id": 1}, None)

    in_flight = asyncio.create_task(request("B", slow=0.2))
    await asyncio.sleep(0.02)
    refused = asyncio.create_task(request("A", refuse=True))
    assert await in_flight is True  # B ends in the middle of A's pause
    await asyncio.sleep(0.1)
    assert await asyncio.gather(refused, request("C")) == [True, True]
    pause_end = refused_at[0] + 1.0
    after = {name: at for name, at in calls if at > refused_at[0]}
    assert set(after) == {"A", "C"}
    assert all(at >= pause_end for at in after.values()), (after, pause_end)


async def test_a_reply_goes_ahead_of_a_queue_of_bulk_sends():
    limiter = LaneRateLimiter(overall_max_rate=5, reserve=2)
    order: list[str] = []

    async def send(name: str):
        order.append(name)
        return True

    def request(name: str, lane: str | None):
        return limiter.process_request(lambda: send(name), (), {}, "sendMessage",
                                       {"chat_id": 7}, lane)

    bulk = [asyncio.create_task(request(f"bulk{k}", BULK)) for k in range(15)]
    await asyncio.sleep(0.5)
    started = len(order)
    await request("reply", None)
    sent_before_reply = order.index("reply") - started
    assert sent_before_reply <= 1, order  # at most the bulk send already at the gate
    await asyncio.gather(*bulk)
    assert sorted(order) == sorted(["reply", *(f"bulk{k}" for k in range(15))])
    assert [n for n in order if n.startswith("bulk")] == [f"bulk{k}" for k in range(15)]


async def test_workers_share_the_bots_rate():
    limiter = LaneRateLimiter(overall_max_rate=4)
    limiter.share(2)  # two processes send for one bot: each may send half
    assert limiter.rate == 2
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def send():
        return True

    for _ in range(6):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 1}, None)
    # The bucket holds two; the other four drip out at two a second.
    assert loop.time() - started >= 1.8
    limiter.share(8)  # below one a second: one request every two seconds, not none
    assert limiter.rate == 0.5
    limiter.share(1)
    assert limiter.rate == 4


async def test_each_outbox_tick_shares_the_rate_among_the_workers_there_are_now():
    from types import SimpleNamespace

    from bot.jobs import drain_job
    from bot.outbox_sender import SENDER, WORKER, DrainCounts

    class Workers:
        shared, id, count = True, 7, 3

        async def workers(self):
            return self.count

    class Sender:
        async def drain(self):
            return DrainCounts()

    limiter = LaneRateLimiter(overall_max_rate=30)
    workers = Workers()
    context = SimpleNamespace(bot=SimpleNamespace(rate_limiter=limiter),
                              bot_data={WORKER: workers, SENDER: Sender()})
    await drain_job(context)
    assert limiter.rate == 10
    workers.count = 1  # the others stopped
    await drain_job(context)
    assert limiter.rate == 30
