"""Recaps: weekly and monthly summaries of a project's signals, as plain data, HTML/text and a chart.

Pure parts shared by the pipelines (which send the e-mails) and the API (which previews them), in the
order a recap is made: ``periods`` (which week or month, in the project's time zone), ``queries`` (its
numbers from the dbt marts) into ``report`` (plain data), ``chart`` (the PNG), ``render`` (HTML + text
bodies), ``message`` (the e-mail with its inline chart), ``preview`` (the last complete period, ready
to show in a browser). Sending, the delivery ledger and the Dagster assets stay in ``pipelines/defs/recaps``.
"""
