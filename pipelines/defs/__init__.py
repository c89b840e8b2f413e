"""One package per step of the data's path; each exports lists ``assets``, ``asset_checks``,
``jobs``, ``schedules`` and ``sensors`` that ``pipelines.definitions`` gathers."""
