"""The placement rule (:func:`webmap.spatial.place_points`): which admin levels an incident keeps,
and whether its known area lies in the disputed territories."""

from __future__ import annotations

import numpy as np
import pytest

from webmap import spatial


def representative_point(level: str, name: str) -> tuple[float, float]:
    """(lon, lat) of a shipped area's representative point."""
    layer = spatial.load_layer(level)
    point = layer[layer["name"] == name].geometry.representative_point().iloc[0]
    return point.x, point.y


def place(level: str, name: str, precision: int, **kwargs) -> dict:
    lon, lat = representative_point(level, name)
    placed = spatial.place_points(np.array([lon]), np.array([lat]), np.array([precision]), **kwargs)
    return {field: values[0] for field, values in placed.items()}


@pytest.mark.parametrize("precision", [1, 2])
def test_a_place_keeps_every_level_under_its_point(precision):
    placed = place("adm3", "Al-Riyadh", precision)
    assert (placed["admin1"], placed["admin2"], placed["admin3"], placed["disputed"]) == (
        "Kirkuk",
        "Al-Hawiga",
        "Al-Riyadh",
        "inside",
    )


@pytest.mark.parametrize(
    "governorate, disputed",
    [
        ("Kirkuk", "inside"),  # wholly in the disputed territories
        ("Ninewa", "partly"),  # Sinjar and the Nineveh plains are, Mosul's west is not
        ("Al-Basrah", "outside"),
        ("Erbil", "partly"),  # Makhmur is disputed, the rest of Erbil is not
    ],
)
def test_a_governorate_only_incident_is_disputed_as_its_governorate(governorate, disputed):
    placed = place("adm1", governorate, 3)
    assert placed["admin1"] == governorate
    assert (placed["admin2"], placed["admin2_pcode"], placed["admin3"]) == (None, None, None)
    assert placed["disputed"] == disputed


def test_a_district_only_incident_is_disputed_as_its_district():
    makhmur = place("adm2", "Makhmour", 3, vouched_depths=[2])
    assert (makhmur["admin1"], makhmur["admin2"], makhmur["admin3"], makhmur["disputed"]) == (
        "Erbil",
        "Makhmour",
        None,
        "inside",
    )
    assert place("adm2", "Erbil", 3, vouched_depths=[2])["disputed"] == "outside"


def test_the_depth_a_source_vouches_for_wins_for_coarse_incidents_only():
    assert place("adm2", "Makhmour", 3, vouched_depths=[0])["admin1"] is None
    assert place("adm2", "Makhmour", 3, vouched_depths=[1])["admin2"] is None
    # A named place is placed from its point, whatever a file's P-code columns held.
    assert place("adm2", "Makhmour", 1, vouched_depths=[1])["admin3"] is not None


def test_a_coarse_incident_names_its_district_in_its_place_text():
    assert place("adm2", "Makhmour", 3, locations=["Makhmoor"])["admin2"] == "Makhmour"
    assert place("adm2", "Makhmour", 3, locations=["Makhmur, Erbil governorate"])["admin2"] == "Makhmour"
    assert place("adm2", "Makhmour", 3, locations=["Erbil"])["admin2"] is None


def test_a_point_in_no_area_is_placed_nowhere():
    placed = spatial.place_points(np.array([40.0]), np.array([20.0]), np.array([3]), locations=["Kirkuk"])
    assert all(values[0] is None for values in placed.values())


def test_a_coarse_incident_named_after_its_sub_district_keeps_it():
    placed = place("adm3", "Al-Riyadh", 3, locations=["Al-Riyadh"])
    assert (placed["admin2"], placed["admin3"]) == ("Al-Hawiga", "Al-Riyadh")
