"""The /admin routers, one module per area; ``admin.site`` includes them all."""
