"""The demo's live transcript: who speaks, what the bot answers and which buttons it offers,
which one was pressed, business-date changes and balances after money moves. Colour on a
terminal, plain text otherwise (rich decides)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.demo.botapi import Output

_COLOURS = ("cyan", "magenta", "green", "yellow")


class Transcript:
    def __init__(self, words: dict[str, str], console: Console | None = None) -> None:
        self.words = words
        self.console = console or Console(highlight=False)
        self._names: dict[int, str] = {}
        self._colours: dict[int, str] = {}

    def cast(self, user_id: int, name: str, role: str) -> None:
        self._names[user_id] = name
        self._colours[user_id] = _COLOURS[len(self._colours) % len(_COLOURS)]
        self.console.print(f"[bold {self._colours[user_id]}]{escape(name)}[/] — {escape(role)}")

    def _who(self, user_id: int | None) -> str:
        if user_id is None or user_id not in self._names:
            return "someone"
        return f"[bold {self._colours[user_id]}]{escape(self._names[user_id])}[/]"

    def says(self, user_id: int, text: str) -> None:
        self.console.print(f"{self._who(user_id)} ▸ {escape(text)}")

    def does(self, user_id: int, action: str) -> None:
        self.console.print(f"{self._who(user_id)} ▸ [italic]{escape(action)}[/]")

    def presses(self, user_id: int, label: str) -> None:
        self.console.print(f"{self._who(user_id)} ▸ presses [reverse] {escape(label)} [/]")

    def date(self, title: str) -> None:
        self.console.rule(f"[bold]{escape(title)}[/]")

    def chapter(self, title: str) -> None:
        self.console.print()
        self.console.rule(f"[bold blue]{escape(title)}[/]", style="blue")

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{escape(text)}[/]")

    def balances(self, rows: list[tuple[str, str]]) -> None:
        table = Table(title=self.words["balances"], title_justify="left", show_edge=False,
                      pad_edge=False)
        table.add_column(self.words["account"])
        table.add_column(self.words["balance"], justify="right")
        for account, amount in rows:
            table.add_row(account, amount)
        self.console.print(table)

    def bot(self, output: Output) -> None:
        """What the bot did that someone can see, as the server saw it."""
        chat = output.chat_id
        if output.kind == "answer":
            if output.text:  # a press answered with a toast or an alert
                self.console.print(f"  [dim]{self.words['popup']}:[/] {escape(output.text)}")
            return
        if output.kind in ("inline", "precheckout"):
            return
        to = self._who(chat)
        if output.kind == "delete":
            self.console.print(f"  [dim]{self.words['deletes'].format(who=to)}[/]")
            return
        if output.kind == "invoice":
            total = sum(p["amount"] for p in output.params.get("prices", []))
            self.console.print(f"  [bold]bot[/] → {to}: 🧾 {self.words['invoice']} "
                               f"\"{escape(output.text or '')}\" ¥{total / 100:,.2f}")
            return
        if output.kind in ("photo", "document"):
            self.console.print(f"  [bold]bot[/] → {to}: 📎 {output.kind}: "
                               f"{escape(output.text or '')}")
            return
        verb = "edits its message to" if output.kind == "edit" else "→"
        text = escape(output.text or "").replace("\n", "\n    ")
        self.console.print(f"  [bold]bot[/] {verb} {to}:\n    {text}")
        buttons = output.button_texts or [b["text"] for b in output.keyboard]
        if buttons:
            self.console.print("    " + "  ".join(f"[reverse] {escape(b)} [/]" for b in buttons))
