"""Telegram's size limits, measured as Telegram measures them (UTF-16 code units: an emoji
or a rare CJK character counts twice), and the two ways a text is made to fit: lists are
paged or cut at whole items by the features that build them, and ``cut`` is the last line
of defence for any text at all."""

from __future__ import annotations

MESSAGE = 4096  # characters of a message's text
CAPTION = 1024  # characters of a photo's or document's caption
ANSWER = 200  # characters of a callback query's answer
BUTTONS = 100  # buttons in one inline keyboard
MORE = "…"


def length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int = MESSAGE) -> str:
    """``text`` if it fits; else its leading whole lines that fit, then "…" (or, for one
    long line, its start)."""
    if length(text) <= limit:
        return text
    kept: list[str] = []
    size = length(MORE)
    for line in text.split("\n"):
        if size + length(line) + 1 > limit:
            break
        kept.append(line)
        size += length(line) + 1
    if kept:
        return "\n".join([*kept, MORE])
    head = text
    while length(head) + length(MORE) > limit:
        head = head[:max(1, len(head) - (length(head) + length(MORE) - limit))]
    return head + MORE


def pack(blocks: list[list[str]], budget: int) -> list[list[tuple[int, int]]]:
    """Pages of whole lines within ``budget`` characters each (lines joined by newlines,
    blocks by a blank line), as (block, line) positions. A block that does not fit a page
    by itself is split at its lines; a line longer than a page is the caller's to cut."""
    pages: list[list[tuple[int, int]]] = [[]]
    size = 0
    for b, block in enumerate(blocks):
        need = sum(length(line) + 1 for line in block) + 1
        if pages[-1] and size + need > budget and need <= budget:
            pages.append([])  # a block that fits a page starts one rather than split
            size = 0
        for n, line in enumerate(block):
            gap = 2 if n == 0 and pages[-1] else 1
            if pages[-1] and size + length(line) + gap > budget:
                pages.append([])
                size, gap = 0, 1
            pages[-1].append((b, n))
            size += length(line) + gap
    return pages


def fit(header: list[str], items: list[list[str]], more: str | None = None,
        limit: int = MESSAGE) -> tuple[str, int]:
    """The header and as many whole items (each some lines) as fit in ``limit``, then
    ``more`` (say "…and 3 more: see …") if any did not. Returns the text and how many items
    it shows, so buttons can be built for exactly those."""
    text = "\n".join(header)
    room = limit - length(more or MORE) - 1
    shown = 0
    for item in items:
        candidate = "\n".join([text, *item]) if text else "\n".join(item)
        if length(candidate) > room:
            break
        text, shown = candidate, shown + 1
    if shown < len(items):
        text = f"{text}\n{more or MORE}"
    return cut(text, limit), shown
