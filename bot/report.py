"""The operators' daily report: a short summary and a PNG chart of overdue amount by bucket
and debit success over the last 30 business dates (matplotlib, no display needed)."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # render to memory: the bot has no screen
import matplotlib.pyplot as plt

from bot.context import Speaker
from core.agreement import share_text
from core.money import Money

BUCKETS = ("1-30", "31-60", "61-90", "90+")


def chart(today: date, stats: dict[str, int], debits: list[tuple[str, int, int]],
          overdue: list[tuple[str, int]]) -> bytes:
    figure, (buckets, trend) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    yuan = [stats[f"overdue_{b}"] // 100 for b in BUCKETS]  # whole yuan for the axis
    buckets.bar([f"{b} d" for b in BUCKETS], yuan, color=["#f0ad4e", "#e8743b", "#d9534f",
                                                          "#8b0000"])
    buckets.set_title(f"Overdue by days late, {today.isoformat()}")
    buckets.set_ylabel("CNY")
    days = [d for d, _, _ in debits]
    rate = [100 * ok // (ok + failed) if ok + failed else 100 for _, ok, failed in debits]
    trend.plot(days, rate, marker="o", color="#2e7d32", label="debit success %")
    trend.set_ylim(0, 105)
    trend.set_title("Debit success, last 30 business dates")
    trend.set_ylabel("%")
    if overdue:
        other = trend.twinx()
        other.plot([d for d, _ in overdue], [fen // 100 for _, fen in overdue], color="#d9534f",
                   linestyle="--", label="overdue CNY")
        other.set_ylabel("overdue CNY")
    trend.tick_params(axis="x", labelrotation=60, labelsize=7)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    plt.close(figure)
    return out.getvalue()


def overdue_total(stats: dict[str, int]) -> Money:
    return Money(sum(stats[f"overdue_{b}"] for b in BUCKETS))


def network_lines(network: dict[str, list], say: Speaker) -> list[str]:
    """The network view as /ops and the daily report show it (core.services.daily)."""
    lines = [say("ops.network")]
    lines += [say("ops.friend_line", name=name, exposure=Money(fen), share=share_text(share))
              for name, fen, share in network["top"]]
    lines.append(say("ops.groups"))
    lines += [say("ops.group_line", size=size, exposure=Money(fen), share=share_text(share))
              for size, fen, share in network["groups"]]
    return lines
