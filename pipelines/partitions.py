"""The daily partitions of the warehouse build: one per UTC day of ``received_at``."""

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
