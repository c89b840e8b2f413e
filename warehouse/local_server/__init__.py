"""The local ClickHouse server of the embedded stack: one process owns chDB and speaks ClickHouse's protocols.

It is a protocol front for the real engine (chDB, ClickHouse in-process), not a database of its own:
it adds no SQL semantics, and whatever it cannot serve it refuses with ClickHouse's own error format.
"""
