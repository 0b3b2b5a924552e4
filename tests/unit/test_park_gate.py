"""The park's FIFO gate: tickets go to waiters strictly in arrival order, a holder that
releases and re-enters at once queues behind them, and cancellation never loses a ticket."""

from __future__ import annotations

import asyncio

import pytest

from linkgress.park import FifoGate


def _gate(size: int) -> FifoGate:
    """A gate whose orphaned tickets go straight back to it."""
    holder: list[FifoGate] = []
    gate = FifoGate(size, lambda handed: holder[0].leave())
    holder.append(gate)
    return gate


async def test_tickets_go_to_waiters_in_arrival_order_even_against_a_quick_re_entry() -> None:
    gate = _gate(1)
    await gate.enter()
    order: list[str] = []

    async def waiter(name: str) -> None:
        await gate.enter()
        order.append(name)
        gate.leave()

    tasks = [asyncio.create_task(waiter(n)) for n in ("a", "b", "c")]
    await asyncio.sleep(0)  # all three queue
    gate.leave()
    # The releasing task tries to come straight back in (what overtakes waiters in a queue
    # that hands items to whoever asks first): it must queue behind a, b and c.
    await gate.enter()
    order.append("again")
    gate.leave()
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c", "again"]
    assert gate.free == 1 and gate.queued == 0


async def test_a_cancelled_waiter_loses_no_ticket() -> None:
    gate = _gate(1)
    await gate.enter()
    cancelled = asyncio.create_task(gate.enter())
    served = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gate.leave()  # handed to `cancelled`, which is then cancelled before it runs
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(served, 1)  # the ticket was passed on
    gate.leave()
    assert gate.free == 1 and gate.queued == 0


async def test_a_waiter_cancelled_while_queued_leaves_the_queue() -> None:
    gate = _gate(1)
    await gate.enter()
    task = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    assert gate.queued == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.queued == 0
    gate.leave()
    assert gate.free == 1


async def test_a_clean_connection_is_handed_only_to_a_waiter_that_accepts_one() -> None:
    gate = _gate(1)
    await gate.enter()
    raw = asyncio.create_task(gate.enter())
    orm = asyncio.create_task(gate.enter(accepts_lease=True))
    await asyncio.sleep(0)
    lease = (object(), object())
    assert not gate.hand(lease)  # the first in line (a raw acquirer) needs the pool's reset
    gate.leave()
    assert await raw is None
    assert gate.hand(lease)  # now the ORM waiter is first: it gets the connection as it is
    assert await orm is lease
    assert gate.queued == 0
