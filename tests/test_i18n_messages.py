"""The translatable copies of the numerical core's names match the originals."""

from inference.messages import MAP_DESCRIPTION_MESSAGES, SHAPE_NAME_MESSAGES
from inference.shapes import SHAPE_NAMES
from inference.tic import MAP_DESCRIPTIONS


def test_shape_names_marked_for_translation():
    assert sorted(SHAPE_NAMES.values()) == sorted(SHAPE_NAME_MESSAGES)


def test_map_descriptions_marked_for_translation():
    assert set(MAP_DESCRIPTIONS.values()) <= set(MAP_DESCRIPTION_MESSAGES)
