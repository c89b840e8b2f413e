"""Widget stats: windows, the marts' reads, the live delta since the last build, and the caches.

``service.StatsService`` is what ``ingest_api.routers.stats`` uses; ``freshness`` explains how the
events since the last build are merged into the marts' numbers.
"""
