{#-
  The measures every aggregate carries, as sums so that coarser grains (sets, rolling windows,
  calendar periods) add them up exactly; averages are derived from them at each grain.
-#}

{#- From fct_signals rows. -#}
{% macro signal_measures() -%}
    toUInt64(count()) as signals,
    CAST(sumMapIf(map(value_key, toUInt64(1)), value_key != ''), 'Map(LowCardinality(String), UInt64)') as value_counts,
    toUInt64(countIf(value is not null)) as valued_signals,
    toInt64(coalesce(sum(value), 0)) as value_sum,
    toUInt64(countIf(sentiment_label = 'positive')) as positive_signals,
    toUInt64(countIf(sentiment_label = 'neutral')) as neutral_signals,
    toUInt64(countIf(sentiment_label = 'negative')) as negative_signals,
    toUInt64(countIf(sentiment is not null)) as scored_signals,
    toFloat64(coalesce(sum(sentiment), 0)) as sentiment_sum
{%- endmacro %}

{#- From rows that already carry the measures; `condition` restricts the rows (e.g. a window). -#}
{% macro summed_measures(condition='1') -%}
    toUInt64(sumIf(signals, {{ condition }})) as signals,
    CAST(sumMapIf(value_counts, {{ condition }}), 'Map(LowCardinality(String), UInt64)') as value_counts,
    toUInt64(sumIf(valued_signals, {{ condition }})) as valued_signals,
    toInt64(sumIf(value_sum, {{ condition }})) as value_sum,
    toUInt64(sumIf(positive_signals, {{ condition }})) as positive_signals,
    toUInt64(sumIf(neutral_signals, {{ condition }})) as neutral_signals,
    toUInt64(sumIf(negative_signals, {{ condition }})) as negative_signals,
    toUInt64(sumIf(scored_signals, {{ condition }})) as scored_signals,
    toFloat64(sumIf(sentiment_sum, {{ condition }})) as sentiment_sum
{%- endmacro %}

{#- Averages of the measures above, NULL where nothing was averaged. -#}
{% macro measure_averages() -%}
    if(valued_signals = 0, NULL, value_sum / valued_signals) as value_avg,
    if(scored_signals = 0, NULL, sentiment_sum / scored_signals) as sentiment_score
{%- endmacro %}

{#- The measure columns by name, for a select list: the sums, then with the averages. -#}
{% macro measure_sum_columns() -%}
    signals, value_counts, valued_signals, value_sum, positive_signals, neutral_signals,
    negative_signals, scored_signals, sentiment_sum
{%- endmacro %}

{% macro measure_columns() -%}
    {{ measure_sum_columns() }}, value_avg, sentiment_score
{%- endmacro %}
