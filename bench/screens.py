"""Draw the bot's own Discord messages as a member sees them, and measure how tall they are.

Asks the bundled article (given a URL, so citations link) a few questions through the project's own
service, turns each answer into the message the bot would post (``answer_embed`` and the buttons of
``cogs.ask``, through discord.py's ``Embed.to_dict()``), draws the messages as HTML in Discord's
dark layout (516 px embeds, 14 px text, the "alice used /ask" header), and has headless Chromium
screenshot the channel at desktop (900 px) and phone (400 px) widths and report each message's
height in the DOM.

    python bench/screens.py --out /tmp/screens              # this checkout
    git worktree add /tmp/old 59703b6 && PYTHONPATH=/tmp/old python bench/screens.py --out /tmp/old-screens

The second line draws an older version with this script (it adapts to that version's API). Needs
``chromium`` (Debian: apt-get install chromium fonts-noto-core). The images are for looking at;
keep them out of the repository.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

URL = "https://www.aljazeera.com/news/2022/2/14/russia-says-ready-to-continue-diplomacy-amid-ukraine-crisis"
QUESTIONS = [  # (how it is asked, the question)
    ("slash", "What did Scholz say?"),
    ("slash", "Where will the US relocate its embassy?"),
    ("slash", "What did Lavrov tell Putin?"),
    ("slash", "How do I bake sourdough bread?"),
    ("mention", "What is the capital of France?"),
]
WIDTHS = {"desktop": 900, "phone": 400}

CSS = """
body { margin: 0; background: #313338; color: #dbdee1; font: 16px/1.375 'Noto Sans', sans-serif; }
.chat { padding: 8px 0 24px; }
.msg { position: relative; padding: 2px 16px 2px 72px; margin-top: 17px; }
.avatar { position: absolute; left: 16px; top: 4px; width: 40px; height: 40px; border-radius: 50%;
          background: #5865f2; color: #fff; font-weight: 600; text-align: center; line-height: 40px; }
.above { font-size: 14px; color: #b5bac1; margin-left: -56px; padding-left: 56px; }
.above b { color: #00a8fc; font-weight: 400; }
.name { color: #f2f3f5; font-weight: 500; } .app { background: #5865f2; color: #fff; font-size: 10px;
        border-radius: 3px; padding: 1px 4px; margin-left: 4px; } .time { color: #949ba4; font-size: 12px;
        margin-left: 6px; }
.content { white-space: pre-wrap; }
.embed { max-width: 516px; background: #2b2d31; border-left: 4px solid #1e1f22; border-radius: 4px;
         padding: 8px 16px 16px 12px; margin-top: 4px; box-sizing: border-box; font-size: 14px; line-height: 18px; }
.embed .title { font-weight: 600; font-size: 16px; color: #f2f3f5; margin-top: 8px; }
.embed .desc { margin-top: 8px; white-space: pre-wrap; word-wrap: break-word; }
.embed .field { margin-top: 8px; } .embed .fname { font-weight: 600; color: #f2f3f5; }
.embed .fvalue { white-space: pre-wrap; word-wrap: break-word; }
.embed .footer { margin-top: 8px; font-size: 12px; color: #b5bac1; }
a { color: #00a8fc; text-decoration: none; }
.buttons { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.button { background: #4e5058; color: #fff; border-radius: 3px; padding: 2px 16px; height: 32px; line-height: 32px;
          font-size: 14px; font-weight: 500; }
.private { font-size: 12px; color: #949ba4; margin-top: 4px; } .private a { color: #00a8fc; }
"""


def markdown(text: str) -> str:
    """The part of Discord's markdown the bot uses: escapes, [label](url), **bold**, *italics*."""
    escaped: list[str] = []

    def hold(match: re.Match[str]) -> str:
        escaped.append(match.group(1))
        return f"\x00{len(escaped) - 1}\x00"

    text = re.sub(r"\\([^\w\s])", hold, text)
    text = html.escape(text, quote=False)
    text = re.sub(r"\[((?:\[[^\]]*\]|[^\[\]])+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", text)
    return re.sub("\x00([0-9]+)\x00", lambda m: html.escape(escaped[int(m.group(1))]), text)


def embed_html(data: dict[str, Any]) -> str:
    colour = f"#{data['color']:06x}" if data.get("color") is not None else "#1e1f22"
    parts = [f'<div class="embed" style="border-left-color:{colour}">']
    if data.get("title"):
        parts.append(f'<div class="title">{markdown(data["title"])}</div>')
    if data.get("description"):
        parts.append(f'<div class="desc">{markdown(data["description"])}</div>')
    for field in data.get("fields", []):
        parts.append(f'<div class="field"><div class="fname">{markdown(field["name"])}</div>'
                     f'<div class="fvalue">{markdown(field["value"])}</div></div>')
    if data.get("footer"):
        parts.append(f'<div class="footer">{html.escape(data["footer"]["text"])}</div>')
    return "".join(parts) + "</div>"


def message_html(key: str, how: str, question: str, message: dict[str, Any]) -> str:
    above = ('<div class="above">alice used <b>/ask</b></div>' if how == "slash"
             else f'<div class="above"><b>@alice</b> @qabot {html.escape(question)}</div>')
    body = [f'<div class="msg" id="{key}">{above}<div class="avatar">QA</div>',
            '<div><span class="name">qabot</span><span class="app">APP</span>'
            '<span class="time">Today at 21:45</span></div>']
    if message.get("content"):
        body.append(f'<div class="content">{markdown(message["content"])}</div>')
    body += [embed_html(e) for e in message.get("embeds", [])]
    for row in message.get("components", []):
        buttons = [c.get("label") or (c.get("emoji") or {}).get("name", "") for c in row["components"]]
        body.append('<div class="buttons">' + "".join(f'<span class="button">{html.escape(b)}</span>'
                                                      for b in buttons) + "</div>")
    if message.get("ephemeral"):
        body.append('<div class="private">👁 Only you can see this · <a>Dismiss message</a></div>')
    return "".join(body) + "</div>"


def page(messages: list[tuple[str, str, str, dict[str, Any]]], width: int) -> str:
    """The channel at ``width`` px (set on the page: headless Chromium's window is at least 500 px wide)."""
    shown = "".join(
        (f'<div class="msg"><div class="avatar" style="background:#f0b232">A</div><div><span class="name">alice'
         f'</span><span class="time">Today at 21:45</span></div><div class="content"><a>@qabot</a> '
         f'{html.escape(q)}</div></div>' if how == "mention" else "") + message_html(key, how, q, m)
        for key, how, q, m in messages)
    script = ("<script>const h={};document.querySelectorAll('.msg[id]').forEach(e=>h[e.id]=Math.round("
              "e.getBoundingClientRect().height));document.getElementById('heights').textContent=JSON.stringify(h);"
              "</script>")
    return (f"<!doctype html><meta charset=utf-8><style>{CSS} body {{ width: {width}px; }}</style>"
            f"<div class=chat>{shown}</div>"
            f"<pre id=heights style='display:none'></pre>{script}")


def posted(answer: dict[str, Any], how: str, answer_id: int) -> dict[str, Any]:
    """The message the bot posts for this answer (content, embeds, buttons, private or not), from
    whatever version of the bot is on the path."""
    from bot.discord.cogs import ask
    from bot.discord.render import answer_embed

    embed = answer_embed(answer, 1).to_dict()
    if answer["found"] or not hasattr(ask, "decline_view"):  # before 2026-12: every answer looked alike
        view = ask.answer_view(answer_id, bool(answer["citations"] or answer.get("closest")), thread_button=True)
        return {"embeds": [embed], "components": view.to_components()}
    view = ask.decline_view(answer_id, answer)
    components = view.to_components() if view is not None else []
    if how == "mention":
        from bot.discord.render import decline_line

        return {"content": decline_line(answer), "components": components}
    return {"embeds": [embed], "components": components, "ephemeral": True}


def answers(index_dir: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    from bot.config import Settings
    from bot.service import QAService
    from index.embedder import E5Embedder

    service = QAService(Settings(), index_dir, embedder=E5Embedder())
    sources = [replace(s, url=URL) for s in service.catalog.configured_sources()]
    service.catalog.build(sources)
    out = []
    for n, (how, question) in enumerate(QUESTIONS, start=1):
        data = service.ask(question).to_json()
        out.append((f"m{n}", how, question, {**posted(data, how, n), "found": data["found"]}))
    return out


def shoot(html_file: Path, width: int, png: Path) -> dict[str, int]:
    """Screenshot the page at ``width`` and return each message's height (px) at that width."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("chromium not found: apt-get install chromium fonts-noto-core")
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--virtual-time-budget=3000", f"--window-size={max(width, 500)},4000"]
    dom = subprocess.run([*common, "--dump-dom", html_file.as_uri()], capture_output=True, text=True, check=True)
    found = re.search(r'<pre id="heights"[^>]*>(.*?)</pre>', dom.stdout, re.S)
    heights: dict[str, int] = json.loads(html.unescape(found.group(1))) if found else {}
    total = sum(heights.values()) + 60 * len(heights) + 80
    subprocess.run([*common[:-1], f"--window-size={width},{total}", f"--screenshot={png}", html_file.as_uri()],
                   capture_output=True, check=True)
    return heights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where the HTML, JSON and PNG files go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qabot-screens-") as tmp:
        messages = answers(Path(tmp) / "index")
    (args.out / "messages.json").write_text(json.dumps(messages, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{'message':<48} " + " ".join(f"{name:>8}" for name in WIDTHS))
    heights = {}
    for name, width in WIDTHS.items():
        html_file = args.out / f"channel_{name}.html"
        html_file.write_text(page(messages, width), encoding="utf-8")
        heights[name] = shoot(html_file, width, args.out / f"channel_{name}.png")
    for key, how, question, message in messages:
        kind = "answer" if message["found"] else "decline"
        label = f"{kind} ({how}): {question}"
        print(f"{label[:48]:<48} " + " ".join(f"{heights[name].get(key, 0):>6} px" for name in WIDTHS))
    print(f"screenshots: {', '.join(str(args.out / f'channel_{n}.png') for n in WIDTHS)}")


if __name__ == "__main__":
    main()
