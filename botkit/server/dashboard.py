"""``GET /dashboard``: today's report, the same page as ``botkit report --format html``,
refreshed every minute. For agents and the people running the bot: an agent token in
``?token=``. Today's conversations are those that started today, read at the runtime's clock
(one still going is open, not a drop-off); today's purchases are credited to the users'
conversations of the days before too (:mod:`botkit.metrics.periods`)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from botkit.adapters.http import json_error
from botkit.metrics.html import to_html
from botkit.metrics.periods import day_bounds, load_metrics
from botkit.runtime import Runtime
from botkit.server.agents import AgentApi
from botkit.storage import Store

__all__ = ["Dashboard"]

_REFRESH = '<head>\n<meta http-equiv="refresh" content="60">'


class Dashboard:
    """Today, by the runtime's clock and in the bot's time zone."""

    def __init__(self, store: Store, runtime: Runtime, agents: AgentApi) -> None:
        self.store = store
        self.runtime = runtime
        self.agents = agents

    async def page(self, request: Request) -> Response:
        if self.agents.agent_for_token(request.query_params.get("token", "")) is None:
            return json_error(401, "bad_token", "add ?token=<agent token>")
        bot = self.runtime.bot  # the live version (a reload replaces it)
        now = self.runtime.clock()  # read once: "today" and what is still open agree
        day = dt.datetime.fromtimestamp(now, ZoneInfo(bot.timezone)).date().isoformat()
        since, until = day_bounds(day, day, bot.timezone)
        metrics = await load_metrics(self.store, bot, since=since, until=until, by="day", now=now)
        page = to_html(metrics, title=f"{bot.title or bot.id} — today · 오늘", period=day)
        page = page.replace("<head>", _REFRESH, 1)
        return Response(page, media_type="text/html; charset=utf-8")
