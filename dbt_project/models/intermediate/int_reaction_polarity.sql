{#- The polarity (-1, 0, +1) of every reaction of every reaction set: the set's configured
    reactions, or the default reactions when its config names none. -#}

with reaction_sets as (
    select
        project_id,
        content_set,
        JSONExtractArrayRaw(config, 'reactions') as configured
    from {{ ref('stg_app__content_sets') }}
    where signal_type = 'reaction'
),

configured as (
    select
        project_id,
        content_set,
        CAST(JSONExtractString(reaction_json, 'key'), 'LowCardinality(String)') as reaction,
        toInt8(JSONExtractInt(reaction_json, 'polarity')) as polarity
    from reaction_sets
    array join configured as reaction_json
),

defaulted as (
    select
        reaction_sets.project_id as project_id,
        reaction_sets.content_set as content_set,
        defaults.reaction as reaction,
        defaults.polarity as polarity
    from reaction_sets
    cross join {{ ref('default_reactions') }} as defaults
    where empty(reaction_sets.configured)
)

select project_id, content_set, reaction, polarity from configured
union all
select project_id, content_set, reaction, polarity from defaulted
