"""The administrators' web pages at /admin (see docs/admin.md).

Holds no code: importing ``admin.schema`` (the migrations do) must not load the web part.
"""
