"""GeoIP: where a client address is, for the location of recorded sessions.

- ``locator.py``: :class:`GeoLocator`, reading a MaxMind DB file (GeoLite2/GeoIP2 City or Country) with
  MaxMind's ``maxminddb`` reader, memory-mapped, behind a small cache; and :class:`Location`, the four
  fields a session stores. Without a configured database every address is "Unknown".
"""
