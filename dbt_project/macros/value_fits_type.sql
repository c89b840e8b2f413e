{#-
  Whether a create's or edit's value is one its signal type can have (the domain's value rules):
  yes/no and up/down 1 or -1, a rating from 1 to its scale, a like 1, a reaction named, a message
  any text. The API stores nothing else; a row written around it (or by an older version) that
  breaks these rules is left out of the marts rather than failing their build, and the warn-level
  test raw_values_fit_their_type lists it.
-#}
{% macro value_fits_type(signal_type='signal_type', value='value', rating_scale='rating_scale', reaction='reaction') -%}
ifNull(multiIf(
    {{ signal_type }} in ('yesno', 'updown'), {{ value }} in (1, -1),
    {{ signal_type }} = 'rating', {{ value }} >= 1 and ({{ rating_scale }} = 0 or {{ value }} <= {{ rating_scale }}),
    {{ signal_type }} = 'like', {{ value }} = 1,
    {{ signal_type }} = 'reaction', {{ reaction }} != '',
    {{ signal_type }} = 'message', 1,
    0
), 0)
{%- endmacro %}
