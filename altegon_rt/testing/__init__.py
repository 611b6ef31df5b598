"""Helpers for tests of Altegon RT and of programs that use it: run the real server process."""
