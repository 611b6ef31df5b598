"""Altegon RT: conference, webinar and live-streaming server in one trio process."""

__version__ = "0.1.0"
