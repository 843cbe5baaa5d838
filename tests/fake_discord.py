"""A small fake Discord on 127.0.0.1 (REST under /api/v10 plus a gateway websocket) for socket-level tests.

The real discord.py client connects to it after two redirections (see ../shared/DISCORD_TESTING.md):
``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import yarl
from aiohttp import WSMsgType, web

TOKEN = "fake-token-for-tests"
APP_ID = "900000000000000001"
BOT_ID = APP_ID
GUILD_ID = "900000000000000100"
CHANNEL_ID = "900000000000000200"
MOD_ROLE = "900000000000000300"
_ids = itertools.count(910000000000000000)


def _json(data: Any, status: int = 200) -> web.Response:
    # aiohttp's json_response adds "; charset=utf-8", which discord.py's login rejects.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def spread_guilds(n: int, first: str = GUILD_ID) -> list[str]:
    """``n`` guild ids, one per consecutive ``guild_id >> 22`` (so any shard count spreads them
    evenly), each a multiple of 100 like GUILD_ID (its channels are the id + 100 and + 101)."""
    base = int(first) >> 22
    return [str(g + (-g) % 100) for g in (((base + i) << 22) for i in range(n))]


def user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "avatar": None, "global_name": name, "bot": bot}


class FakeDiscord:
    """Records every REST call; lets a test dispatch gateway events and wait for replies."""

    def __init__(self, guild_ids: list[str] | None = None, recommended_shards: int = 1) -> None:
        self.guild_ids = guild_ids or [GUILD_ID]
        self.left: list[str] = []  # guilds the bot left
        self.files: dict[str, str] = {}  # served as text/html under /files/<name>, for URL sources
        self.times: dict[str, float] = {}  # interaction id -> when it was dispatched / acknowledged
        self.acked: dict[str, float] = {}
        self.threads: dict[str, str] = {}  # thread id (= the message it started from) -> parent channel
        self.requests: list[tuple[str, str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # channel messages and webhook followups/edits
        self.callbacks: list[dict[str, Any]] = []
        self.shards: dict[int, web.WebSocketResponse] = {}  # shard id -> its live gateway connection
        self.shard_count = 1  # as the clients IDENTIFY; /gateway/bot recommends ``recommended_shards``
        self.recommended_shards = recommended_shards
        self.identifies: list[tuple[int, int]] = []  # (shard id, shard count) of every IDENTIFY
        self.delivered: dict[str, int] = {}  # interaction id -> the shard it was sent to
        self.undelivered: list[tuple[str, dict[str, Any]]] = []  # events for a shard nobody runs
        self.identified = asyncio.Event()
        self.changed = asyncio.Event()
        self.seq: dict[int, int] = {}  # per connection (by id())
        self.refused_intents = 0  # gateway intents this application may not use (closes with 4014)
        self.runner: web.AppRunner | None = None
        self.port = 0

    # -- server ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_get("/", self.gateway)
        app.router.add_get("/files/{name}", self.file)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.shards.values()):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.files:
            return web.Response(status=404, text="not found")
        return web.Response(body=self.files[name].encode(), headers={"Content-Type": "text/html; charset=utf-8"})

    def file_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{name}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def _note(self, item: dict[str, Any]) -> None:
        self.messages.append(item)
        self.changed.set()

    async def rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                reader = await request.multipart()
                async for part in reader:
                    if part.name == "payload_json":  # type: ignore[union-attr]
                        body = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                raw = await request.read()
                body = json.loads(raw) if raw else None
        self.requests.append((request.method, path, body))
        if request.headers.get("Authorization") not in (f"Bot {TOKEN}", None) and path == "/users/@me":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if path == "/users/@me":
            return _json({**user(BOT_ID, "qabot", bot=True), "flags": 0})
        if path == "/gateway/bot":  # AutoShardedClient asks how many shards (and where) when not told
            return _json({"url": self.gateway_url, "shards": self.recommended_shards,
                          "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                  "max_concurrency": 1}})
        if path == "/oauth2/applications/@me":
            return _json({"id": APP_ID, "name": "qabot", "icon": None, "description": "", "bot_public": True,
                          "bot_require_code_grant": False, "verify_key": "x", "flags": 0,
                          "owner": user("1", "owner"), "interactions_endpoint_url": None})
        if request.method == "PUT" and path.endswith("/commands"):
            self.commands = [{**c, "id": str(next(_ids)), "application_id": APP_ID, "version": "1"} for c in body]
            self.changed.set()
            return _json(self.commands)
        if request.method == "DELETE" and path.startswith("/users/@me/guilds/"):
            self.left.append(path.rsplit("/", 1)[1])
            self.changed.set()
            return web.Response(status=204)
        if path.startswith("/interactions/") and path.endswith("/callback"):
            self.acked.setdefault(path.split("/")[2], asyncio.get_running_loop().time())
            self.callbacks.append({**body, "interaction_id": path.split("/")[2]})
            self.changed.set()
            return _json({"interaction": {"id": path.split("/")[2], "type": 2}, "resource": {"type": body["type"]}})
        if path.startswith("/webhooks/"):
            message = {"id": str(next(_ids)), "channel_id": CHANNEL_ID, "type": 0, "content": "", "embeds": [],
                       "author": user(BOT_ID, "qabot", bot=True), "attachments": [], "mentions": [],
                       "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
                       "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": 0,
                       "components": []}
            if isinstance(body, dict):
                message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components", "flags")})
            if request.method == "DELETE":  # what was posted there is gone: it is no reply
                for item in self.messages:
                    if item["via"].endswith(path) and item["via"].startswith(("PATCH", "POST")):
                        item["deleted"] = True
            self._note({"via": request.method + " " + path, "body": body, "id": message["id"]})
            if request.method == "DELETE":
                return web.Response(status=204)
            return _json(message)
        if path.startswith("/channels/") and path.endswith("/threads") and request.method == "POST":
            parent, message_id = path.split("/")[2], path.split("/")[4]
            if message_id in self.threads:
                return _json({"message": "A thread has already been created for this message", "code": 160004}, 400)
            self.threads[message_id] = parent
            self.changed.set()
            return _json(self.thread_payload(message_id, body.get("name") or "thread"))
        if path.startswith("/channels/") and path.endswith("/typing"):
            return web.Response(status=204)
        if path.startswith("/channels/") and path.endswith("/messages") and request.method == "POST":
            note = {"via": "channel", "channel": path.split("/")[2], "body": body, "id": str(next(_ids))}
            self._note(note)
            message = {"id": note["id"], "channel_id": note["channel"], "type": 0, "content": body.get("content") or "",
                       "embeds": body.get("embeds", []), "author": user(BOT_ID, "qabot", bot=True),
                       "attachments": [], "mentions": [], "mention_roles": [], "pinned": False,
                       "mention_everyone": False, "tts": False, "timestamp": "2026-01-01T00:00:00+00:00",
                       "edited_timestamp": None, "flags": 0, "components": []}
            return _json(message)
        return _json({"message": f"not implemented in fake: {request.method} {path}", "code": 0}, 404)

    def owner(self, guild: str | None) -> int:
        """The shard a guild's events go to, with the shard count the clients identified with
        (DMs: shard 0)."""
        return 0 if guild is None else (int(guild) >> 22) % self.shard_count

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}})
        shard_id: int | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if data["op"] == 1:
                    await ws.send_json({"op": 11})
                elif data["op"] == 2 and data["d"].get("intents", 0) & self.refused_intents:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                elif data["op"] == 2:
                    shard_id, count = data["d"].get("shard") or [0, 1]
                    if not (isinstance(count, int) and count >= 1 and 0 <= shard_id < count):
                        await ws.close(code=4010, message=b"Invalid shard.")
                        continue
                    await self.identify(ws, shard_id, count)
        finally:
            if shard_id is not None and self.shards.get(shard_id) is ws:
                del self.shards[shard_id]
        return ws

    async def identify(self, ws: web.WebSocketResponse, shard_id: int, count: int) -> None:
        """READY for this shard with only the guilds it owns, then their GUILD_CREATEs."""
        self.shard_count = count
        self.identifies.append((shard_id, count))
        self.shards[shard_id] = ws
        owned = [gid for gid in self.guild_ids if self.owner(gid) == shard_id]
        await self._send(ws, "READY", {
            "v": 10, "user": {**user(BOT_ID, "qabot", bot=True)}, "shard": [shard_id, count],
            "guilds": [{"id": gid, "unavailable": True} for gid in owned],
            "session_id": f"s{shard_id}-{len(self.identifies)}", "resume_gateway_url": self.gateway_url,
            "application": {"id": APP_ID, "flags": 0},
        })
        for gid in owned:
            await self._send(ws, "GUILD_CREATE", self.guild_payload(gid))
        self.identified.set()
        self.changed.set()

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self.seq[id(ws)] = seq = self.seq.get(id(ws), 0) + 1
        await ws.send_json({"op": 0, "t": event, "s": seq, "d": data})

    @staticmethod
    def channel_of(guild: str) -> str:
        return str(int(guild) + 100)  # GUILD_ID's channel is CHANNEL_ID

    @staticmethod
    def forum_of(guild: str) -> str:
        return str(int(guild) + 101)  # each guild also has a forum channel

    def guild_payload(self, guild: str = GUILD_ID) -> dict[str, Any]:
        channel = self.channel_of(guild)
        return {
            "id": guild, "name": f"Club {guild[-3:]}", "owner_id": "1", "unavailable": False, "member_count": 3,
            "roles": [{"id": guild, "name": "@everyone", "permissions": "104324673", "position": 0, "color": 0,
                       "hoist": False, "managed": False, "mentionable": False},
                      {"id": MOD_ROLE, "name": "Mods", "permissions": "32", "position": 1, "color": 0, "hoist": False,
                       "managed": False, "mentionable": False}],
            "channels": [{"id": channel, "type": 0, "name": "news", "position": 0, "permission_overwrites": []},
                         {"id": self.forum_of(guild), "type": 15, "name": "questions", "position": 1,
                          "permission_overwrites": [], "available_tags": [], "flags": 0}],
            "members": [{"user": user(BOT_ID, "qabot", bot=True), "roles": [], "flags": 0, "joined_at": "2026-01-01T00:00:00+00:00"}],
            "emojis": [], "stickers": [], "features": [], "threads": [], "presences": [], "voice_states": [],
        }

    def thread_payload(self, thread: str, name: str = "thread") -> dict[str, Any]:
        parent = self.threads[thread]
        guild = str(int(parent) - 100 - int(parent) % 100)  # a thread of the text channel or of the forum
        return {"id": thread, "type": 11, "guild_id": guild, "parent_id": parent, "name": name,
                "owner_id": BOT_ID, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
                "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "locked": False,
                                    "archive_timestamp": "2026-01-01T00:00:00+00:00"}}

    def _channel(self, guild: str, channel: str | None) -> dict[str, Any]:
        """A text channel of the guild, or one of the threads started in it."""
        if channel in self.threads:
            return self.thread_payload(channel)
        return {"id": self.channel_of(guild), "type": 0, "guild_id": guild, "name": "news", "position": 0}

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the shard that owns its guild, as Discord does; an event for a shard
        no client runs is kept in ``undelivered``."""
        shard_id = self.owner(data.get("guild_id"))
        ws = self.shards.get(shard_id)
        if ws is None or ws.closed:
            self.undelivered.append((event, data))
            return
        if event == "INTERACTION_CREATE":
            self.delivered[data["id"]] = shard_id
        await self._send(ws, event, data)

    # -- actions a test performs ---------------------------------------------------------
    def member(self, uid: str, name: str, moderator: bool = False) -> dict[str, Any]:
        roles = [MOD_ROLE] if moderator else []
        perms = "104324705" if moderator else "104324673"
        return {"user": user(uid, name), "roles": roles, "flags": 0, "permissions": perms,
                "joined_at": "2026-01-01T00:00:00+00:00"}

    async def slash(self, name: str, options: list[dict[str, Any]], uid: str = "42", moderator: bool = False,
                    guild: str | None = GUILD_ID, kind: int = 2, channel: str | None = None) -> str:
        """Dispatch a slash-command interaction (kind 4: an autocomplete request) in a guild, or a DM
        when guild is None; returns its id."""
        command = next(c for c in self.commands if c["name"] == name.split()[0])
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1, "options": options}
        if " " in name:
            data["options"] = [{"name": name.split()[1], "type": 1, "options": options}]
        iid = str(next(_ids))
        payload: dict[str, Any] = {
            "id": iid, "application_id": APP_ID, "type": kind, "token": f"tok-{iid}", "version": 1,
            "attachment_size_limit": 26214400, "data": data, "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "app_permissions": "0",
        }
        if guild is None:
            payload.update({"channel_id": "800", "channel": {"id": "800", "type": 1}, "user": user(uid, f"user{uid}")})
        else:
            where = self._channel(guild, channel)
            payload.update({
                "guild_id": guild, "channel_id": where["id"], "guild_locale": "en-US", "channel": where,
                "member": self.member(uid, f"user{uid}", moderator),
            })
        self.times[iid] = asyncio.get_running_loop().time()
        await self.dispatch("INTERACTION_CREATE", payload)
        return iid

    async def click(self, custom_id: str, message_id: str, uid: str = "42", guild: str = GUILD_ID) -> str:
        """Dispatch a button press on a message the bot posted; returns the interaction id."""
        iid = str(next(_ids))
        channel = self.channel_of(guild)
        await self.dispatch("INTERACTION_CREATE", {
            "id": iid, "application_id": APP_ID, "type": 3, "token": f"tok-{iid}", "version": 1,
            "attachment_size_limit": 26214400, "guild_id": guild, "channel_id": channel, "guild_locale": "en-US",
            "channel": self._channel(guild, None), "member": self.member(uid, f"user{uid}"), "locale": "en-US",
            "data": {"custom_id": custom_id, "component_type": 2}, "entitlements": [],
            "authorizing_integration_owners": {}, "app_permissions": "0",
            "message": {"id": message_id, "channel_id": channel, "type": 0, "content": "", "embeds": [],
                        "author": user(BOT_ID, "qabot", bot=True), "attachments": [], "mentions": [],
                        "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
                        "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": 0,
                        "components": [{"type": 1, "components": [
                            {"type": 2, "style": 2, "label": "button", "custom_id": custom_id}]}]},
        })
        return iid

    async def mention(self, text: str, uid: str = "43", guild: str = GUILD_ID, channel: str | None = None) -> None:
        channel = self._channel(guild, channel)["id"]
        await self.dispatch("MESSAGE_CREATE", {
            "id": str(next(_ids)), "channel_id": channel, "guild_id": guild, "type": 0,
            "content": f"<@{BOT_ID}> {text}", "author": user(uid, f"user{uid}"),
            "member": {"roles": [], "flags": 0, "joined_at": "2026-01-01T00:00:00+00:00"},
            "mentions": [user(BOT_ID, "qabot", bot=True)], "mention_roles": [], "mention_everyone": False,
            "attachments": [], "embeds": [], "pinned": False, "tts": False,
            "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": 0, "components": [],
        })

    def _message(self, mid: str, channel: str, guild: str, uid: str, content: str,
                 mentions: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": mid, "channel_id": channel, "guild_id": guild, "type": 0, "content": content,
            "author": user(uid, f"user{uid}"), "member": {"roles": [], "flags": 0, "joined_at": "2026-01-01T00:00:00+00:00"},
            "mentions": mentions, "mention_roles": [], "mention_everyone": False, "attachments": [], "embeds": [],
            "pinned": False, "tts": False, "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None,
            "flags": 0, "components": [],
        }

    async def say(self, text: str, uid: str = "43", guild: str = GUILD_ID, channel: str | None = None) -> str:
        """A member's message without a mention (its content arrives only with the Message Content
        intent, as with Discord); returns the message id."""
        mid = str(next(_ids))
        await self.dispatch("MESSAGE_CREATE", self._message(mid, channel or self.channel_of(guild), guild, uid, text, []))
        return mid

    async def forum_post(self, title: str, text: str, uid: str = "43", guild: str = GUILD_ID) -> str:
        """A new post in the guild's forum: the thread (THREAD_CREATE), then its starter message,
        whose id is the thread's; returns the thread id."""
        thread = str(next(_ids))
        forum = self.forum_of(guild)
        self.threads[thread] = forum
        await self.dispatch("THREAD_CREATE", {**self.thread_payload(thread, title), "owner_id": uid, "newly_created": True})
        await self.dispatch("MESSAGE_CREATE", self._message(thread, thread, guild, uid, text, []))
        return thread

    async def reply_to(self, iid: str, timeout: float = 30.0) -> dict[str, Any]:
        """The followup or edit that answered interaction ``iid`` (or its direct response); an edit
        of the original that the bot deletes right after (to answer privately instead) is skipped."""
        def match(item: dict[str, Any]) -> bool:
            return f"/tok-{iid}" in item["via"] and not item["via"].startswith("DELETE") and not item.get("deleted")

        async def direct() -> dict[str, Any]:
            while True:
                for item in self.messages:
                    if match(item) and item["via"].endswith("/messages/@original"):
                        await asyncio.sleep(0.3)  # the bot may be about to delete it
                    if match(item):
                        return item
                for cb in self.callbacks:
                    if cb.get("interaction_id") == iid and cb.get("type") in (4, 8):
                        return {"via": "callback", "body": cb.get("data") or {}}
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(direct(), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        """The first recorded message (followup, edit or channel message) matching predicate."""
        async def scan() -> dict[str, Any]:
            while True:
                for item in self.messages:
                    if predicate(item):
                        return item
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(scan(), timeout)


@contextlib.asynccontextmanager
async def connected(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord, bot: Any) -> AsyncIterator[FakeDiscord]:
    """Start the fake, point discord.py at it, run ``bot`` until it is ready with its commands
    synced; close both afterwards."""
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        while not fake.commands:
            await asyncio.sleep(0.02)
        yield fake
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fake.stop()
