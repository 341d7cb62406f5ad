"""Alert notifiers configured in the `[alerts]` table of payerfleet.toml: a webhook POST and SMTP mail.

The alert row is the durable record (`payerfleet alerts list` shows it whatever happens here); a
notifier is tried a few times with a short backoff and its failure is logged, never raised into the
run that raised the alert.
"""
from __future__ import annotations

import json
import os
import smtplib
import time
import tomllib
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, Field, SecretStr, ValidationError

from core.alerts import AlertInfo
from core.errors import ConfigError

log = structlog.get_logger()
ATTEMPTS = 3


class AlertsConfig(BaseModel):
    """Where alerts are sent; nothing configured means they are only stored."""

    model_config = {"frozen": True, "extra": "forbid"}
    # Each alert is POSTed here as JSON (AlertInfo.as_dict()).
    webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str = ""
    # Prefer PAYERFLEET_ALERTS_SMTP_PASSWORD over writing it in the file.
    smtp_password: SecretStr | None = None
    smtp_from: str = "payerfleet@localhost"
    smtp_to: tuple[str, ...] = ()
    timeout_s: float = Field(default=10, gt=0)


def load_alerts_config(path: Path | None = None) -> AlertsConfig:
    path = path or Path(os.environ.get("PAYERFLEET_CONFIG", "payerfleet.toml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = dict(tomllib.loads(path.read_text()).get("alerts", {}))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    if os.environ.get("PAYERFLEET_ALERTS_SMTP_PASSWORD"):
        data["smtp_password"] = os.environ["PAYERFLEET_ALERTS_SMTP_PASSWORD"]
    try:
        config = AlertsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"invalid [alerts]: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    if config.smtp_host and not config.smtp_to:
        raise ConfigError("invalid [alerts]: smtp_host is set but smtp_to names no recipient")
    return config


def post_webhook(config: AlertsConfig, alert: AlertInfo) -> None:
    body = json.dumps(alert.as_dict()).encode()
    req = urllib.request.Request(config.webhook_url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "payerfleet-alerts"})
    with urllib.request.urlopen(req, timeout=config.timeout_s) as resp:  # noqa: S310 - operator-configured URL
        if resp.status >= 300:
            raise OSError(f"webhook answered HTTP {resp.status}")


def send_mail(config: AlertsConfig, alert: AlertInfo) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"] = config.smtp_from, ", ".join(config.smtp_to)
    msg["Subject"] = f"[payerfleet {alert.severity}] {alert.kind}: {alert.subject}"
    msg.set_content(f"{alert.message}\n\nalert {alert.id}, raised {alert.raised_at.isoformat()}\n"
                    f"Acknowledge with: payerfleet alerts ack {alert.id}\n")
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_s) as smtp:
        if config.smtp_starttls:
            smtp.starttls()
        if config.smtp_username:
            smtp.login(config.smtp_username, config.smtp_password.get_secret_value() if config.smtp_password else "")
        smtp.send_message(msg)


def notifiers(config: AlertsConfig) -> dict[str, Callable[[AlertsConfig, AlertInfo], None]]:
    out: dict[str, Callable[[AlertsConfig, AlertInfo], None]] = {}
    if config.webhook_url:
        out["webhook"] = post_webhook
    if config.smtp_host:
        out["smtp"] = send_mail
    return out


def notify(config: AlertsConfig, alerts: list[AlertInfo], *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Send each alert through every configured notifier; returns how many deliveries succeeded."""
    delivered = 0
    for alert in alerts:
        for name, send in notifiers(config).items():
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    send(config, alert)
                    delivered += 1
                    log.info("alert.notified", action="notify", notifier=name, alert_id=alert.id)
                    break
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning("alert.notify_failed", action="notify", notifier=name, alert_id=alert.id,
                                attempt=attempt, error=type(exc).__name__)
                    if attempt < ATTEMPTS:
                        sleep(attempt)
    return delivered
