"""Webhook notices: a JSON POST (Teams/Slack-style ``text`` included); the URL may be a secret."""

from __future__ import annotations

import json
import urllib.request
from typing import ClassVar
from urllib.parse import urlsplit

from borough.secrets import SecretStore
from scheduler.config import WebhookChannel
from scheduler.notify.base import Notice, Notifier


class WebhookNotifier(Notifier):
    kind: ClassVar[str] = "webhook"

    def __init__(self, channel: WebhookChannel, secrets: SecretStore) -> None:
        self.channel = channel
        self.secrets = secrets

    def _url(self) -> str:
        url = (
            self.secrets.get(self.channel.url_secret)
            if self.channel.url_secret
            else self.channel.url
        )
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must start with http:// or https://")
        return url

    def describe(self) -> str:
        if self.channel.url_secret:
            return f"webhook (URL in secret {self.channel.url_secret!r})"
        return f"webhook to {urlsplit(self.channel.url or '').netloc}"

    def send(self, notice: Notice) -> None:
        body = json.dumps(notice.payload(), sort_keys=True).encode("utf-8")
        request = urllib.request.Request(
            self._url(),
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "borough-scheduler"},
        )
        with urllib.request.urlopen(request, timeout=self.channel.timeout_seconds) as response:
            response.read()
