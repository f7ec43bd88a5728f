"""Delivery of scoring results to people: an outbox per channel, sent through apprise, never lost
and never sent twice (see :mod:`kpredict.delivery.outbox`)."""

from kpredict.delivery.outbox import DeliveryReport, Message, Outbox, deliver, expand_secrets

__all__ = ["DeliveryReport", "Message", "Outbox", "deliver", "expand_secrets"]
