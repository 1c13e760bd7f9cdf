-- Per year: the summed PIB of the municipalities whose seat lies within `raio_km` (default 100) of
-- Rio de Janeiro's point, and how many they are.
--
-- DuckDB's ST_Distance_Sphere reads points as (latitude, longitude) while `ponto` is
-- POINT(longitude latitude), BigQuery's order: hence the flips (without them, distances near Rio
-- come out up to 6% off, enough to move municipalities across the 100 km line).
with rio as (
    select ST_Point(-43.1964, -22.9083) as ponto
)

select
    municipio.ano,
    sum(municipio.pib) as pib,
    count(*) as quantidade_municipios
from {{ source('br_ibge_pib', 'municipio') }} as municipio
cross join rio
where ST_Distance_Sphere(ST_FlipCoordinates(municipio.ponto), ST_FlipCoordinates(rio.ponto))
    <= {{ var('raio_km') | float }} * 1000
group by municipio.ano
order by municipio.ano
