"""The TIC analysis views of the viewer page in real Chromium: layers, legend, probe, form, joints.

Each test computes the default analysis of the small phantom series in the test process (the same
code the worker runs) before the page opens, and compares what the page shows with the stored
layers and the volume.
"""

import json
import re

import numpy as np
import pytest

from annotations import demo
from annotations.rois import create_roi
from inference.analysis import layer_path, request_analysis, run_analysis
from inference.shapes import SHAPE_NAMES

from .conftest import log_in, open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

VIEWER = "window.pannusmapViewer"
JAPANESE_FAST_WASHOUT = "急速上昇・ウォッシュアウト"


def analyse(series):
    return run_analysis(request_analysis(series).pk)


def open_analysed(page, live_server, series, username="anna"):
    """Log in, open the viewer and wait until the finished analysis is shown."""
    analysis = analyse(series)
    log_in(page, live_server, username)
    open_viewer(page, live_server, series)
    page.wait_for_selector(f"#pannusmap-viewer[data-analysis='{analysis.pk}']")
    return analysis


def choose_layer(page, name):
    page.select_option(".pm-layer-select", name)
    page.wait_for_selector(f".pm-analysis-overlay[data-state=drawn][data-layer={name}]", state="attached")


def coloured_overlay_pixels(page):
    return page.evaluate(
        """() => {
          const canvas = document.querySelector('.pm-analysis-overlay');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let count = 0;
          for (let i = 3; i < data.length; i += 4) count += data[i] > 0;
          return count;
        }"""
    )


def shown_slice(page):
    return int(page.get_attribute("#pannusmap-viewer", "data-slice"))


def test_me_layer_draws_overlay(page, live_server, annotator_a, phantom_series):
    open_analysed(page, live_server, phantom_series)
    assert coloured_overlay_pixels(page) == 0

    choose_layer(page, "me")

    assert coloured_overlay_pixels(page) > 0
    label = page.inner_text(".pm-colorbar-label")
    assert label.startswith("ME ")
    assert label.endswith(" %")
    assert page.errors == []


def test_me_range_is_percentiles(page, live_server, annotator_a, phantom_series):
    analysis = open_analysed(page, live_server, phantom_series)
    choose_layer(page, "me")
    slice_index = shown_slice(page)

    # Noise pixels (type 0) are hidden by default, so the range covers the other finite values.
    me = np.load(layer_path(analysis, "me"))[slice_index]
    types = np.load(layer_path(analysis, "shape_types"))[slice_index]
    values = me[np.isfinite(me) & (types != 0)].astype(np.float64)
    low, high = np.percentile(values, [2, 98])
    shown = page.evaluate(f"{VIEWER}.analysisOverlay.range")
    assert shown["min"] == pytest.approx(low, rel=1e-5)
    assert shown["max"] == pytest.approx(high, rel=1e-5)


def test_shape_legend_in_japanese(page, live_server, annotator_a, phantom_series):
    analyse(phantom_series)
    log_in(page, live_server, "anna")
    page.context.add_cookies([{"name": "django_language", "value": "ja", "url": live_server.url}])
    open_viewer(page, live_server, phantom_series)
    page.wait_for_selector("#pannusmap-viewer[data-analysis]:not([data-analysis=''])")

    choose_layer(page, "shape_types")

    entries = page.locator(".pm-legend li")
    assert entries.count() == 6
    assert JAPANESE_FAST_WASHOUT in entries.nth(4).inner_text()
    assert page.inner_text(".pm-analysis h2") == "TIC 解析"


def test_probe_shows_shape_type(page, live_server, annotator_a, phantom_series):
    analysis = open_analysed(page, live_server, phantom_series)
    box = page.locator(".pm-viewport").bounding_box()

    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.up("Shift")

    info = page.locator(".pm-probe-info")
    info.wait_for()
    text = info.inner_text()
    slice_number, row, column = map(int, re.search(r"s(\d+) r(\d+) c(\d+)", text).groups())
    shape_type = np.load(layer_path(analysis, "shape_types"))[slice_number - 1, row, column]
    assert f"type: {SHAPE_NAMES[int(shape_type)]}" in text
    assert "ME " in text


def test_recompute_shows_server_error(page, live_server, annotator_a, phantom_series):
    open_analysed(page, live_server, phantom_series)
    page.click(".pm-parameters summary")

    page.fill("input[name=baseline_phases]", "99")
    page.click(".pm-param-form button[type=submit]")

    error = page.locator(".pm-form-error")
    error.wait_for()
    assert "baseline_phases 99" in error.inner_text()
    assert f"{phantom_series.phases} phases" in error.inner_text()


def test_recompute_queues_new_analysis(page, live_server, annotator_a, phantom_series):
    first = open_analysed(page, live_server, phantom_series)
    page.click(".pm-parameters summary")

    page.fill("input[name='shape.plateau_band']", "20")
    page.click(".pm-param-form button[type=submit]")

    page.wait_for_selector(".pm-analysis-status[data-status=queued]")
    newest = json.loads(page.evaluate(f"JSON.stringify({VIEWER}.analysis.latest())"))
    assert newest["id"] != first.pk
    assert newest["parameters"]["shape"]["plateau_band"] == pytest.approx(0.2)
    assert page.get_attribute("#pannusmap-viewer", "data-analysis") == str(first.pk)


def test_joint_row_plots_curve(page, live_server, annotator_a, phantom_cohort, phantom_series):
    truth = json.loads((phantom_cohort / "PH001" / "truth.json").read_text())
    demo.add_phantom_joints(phantom_series, truth)
    open_analysed(page, live_server, phantom_series)
    joint = phantom_series.joints.order_by("slice_start", "pk").first()

    page.click(f".pm-joint-table tr[data-joint-id='{joint.pk}']")

    page.wait_for_selector(f"#pannusmap-viewer[data-slice='{joint.slice_start}']")
    page.wait_for_function(f"{VIEWER}.tic.jointCurve !== null")
    curve = page.evaluate(f"{VIEWER}.tic.jointCurve.tic")
    c0, r0, c1, r1 = joint.box
    region = phantom_series.load_volume()[:, joint.slice_start : joint.slice_end + 1, r0 : r1 + 1, c0 : c1 + 1]
    expected = region.reshape(phantom_series.phases, -1).mean(axis=1)
    assert curve["mean"] == pytest.approx(expected.tolist(), rel=1e-6)


def test_reference_uses_own_muscle_rois(page, live_server, annotator_a, annotator_b, phantom_series):
    # Squares with corners on pixel edges: 10 x 10 and 5 x 5 pixel centres inside.
    slice_index = phantom_series.slices // 2
    big = [[10.5, 10.5], [20.5, 10.5], [20.5, 20.5], [10.5, 20.5]]
    small = [[30.5, 30.5], [35.5, 30.5], [35.5, 35.5], [30.5, 35.5]]
    create_roi(phantom_series, annotator_a, slice_index, "muscle", big)
    create_roi(phantom_series, annotator_a, slice_index, "muscle", small)
    create_roi(phantom_series, annotator_b, slice_index, "muscle", [[50.5, 50.5], [60.5, 50.5], [60.5, 60.5]])
    log_in(page, live_server, "anna")
    open_viewer(page, live_server, phantom_series)

    page.wait_for_function(f"{VIEWER}.tic.reference !== null")
    reference = page.evaluate(f"{VIEWER}.tic.reference")
    volume = phantom_series.load_volume()[:, slice_index].astype(np.float64)
    pixels = np.concatenate([volume[:, 11:21, 11:21].reshape(volume.shape[0], -1),
                             volume[:, 31:36, 31:36].reshape(volume.shape[0], -1)], axis=1)
    assert reference["pixel_count"] == 125
    assert reference["roi_count"] == 2
    assert reference["mean"] == pytest.approx(pixels.mean(axis=1).tolist(), rel=1e-6)
    assert "Muscle reference" in page.inner_text(".pm-tic-chart")


def test_sd_field_only_for_sd(page, live_server, annotator_a, phantom_series):
    open_analysed(page, live_server, phantom_series)
    page.click(".pm-parameters summary")
    method = "select[name='arterial.threshold_method']"
    sd_field = "input[name='arterial.threshold_sd']"
    fraction_field = "input[name='arterial.arterial_fraction']"

    assert page.input_value(method) == "arterial_fraction"
    assert page.is_disabled(sd_field)
    assert page.is_enabled(fraction_field)

    page.select_option(method, "sd")
    assert page.is_enabled(sd_field)
    assert page.is_disabled(fraction_field)


def test_recompute_sends_threshold_method(page, live_server, annotator_a, phantom_series):
    open_analysed(page, live_server, phantom_series)
    page.click(".pm-parameters summary")

    page.select_option("select[name='arterial.threshold_method']", "sd")
    page.fill("input[name='arterial.threshold_sd']", "4")
    page.click(".pm-param-form button[type=submit]")

    page.wait_for_selector(".pm-analysis-status[data-status=queued]")
    newest = json.loads(page.evaluate(f"JSON.stringify({VIEWER}.analysis.latest())"))
    assert newest["parameters"]["arterial"]["threshold_method"] == "sd"
    assert newest["parameters"]["arterial"]["threshold_sd"] == pytest.approx(4.0)
