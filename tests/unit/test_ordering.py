"""Per-user ordering: one user's updates in order, other users never starved by them."""

import asyncio

from telegram import Chat, Message, Update, User

from bot.ordering import PerUserUpdateProcessor


def update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "U", is_bot=False)
    message = Message(update_id, date=None, chat=Chat(user_id, "private"), from_user=user,
                      text="hi")
    return Update(update_id, message=message)


async def test_one_busy_user_does_not_starve_another():
    processor = PerUserUpdateProcessor(max_concurrent_updates=2)
    release = asyncio.Event()
    order: list[str] = []

    async def slow(name):
        await release.wait()
        order.append(name)

    async def quick(name):
        order.append(name)

    async with processor:
        tasks = [asyncio.create_task(processor.process_update(update(i, 1), slow(f"a{i}")))
                 for i in range(4)]
        await asyncio.sleep(0.01)
        await asyncio.wait_for(processor.process_update(update(9, 2), quick("b")), 1)
        assert order == ["b"]  # handled while user 1 still waits
        release.set()
        await asyncio.gather(*tasks)
    assert order == ["b", "a0", "a1", "a2", "a3"]  # user 1's updates stayed in order
