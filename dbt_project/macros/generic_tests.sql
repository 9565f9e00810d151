{#- Generic tests the project needs without a package download (the machines that run
    Deliver-to-Bill may have no route to the dbt package hub). -#}

{#- Fails if two rows share the same values of `columns`. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(", ") }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(", ") }}
    having count(*) > 1
{% endtest %}

{#- Fails for every row where `expression` is not true. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
