"""Tissue label volume of the synthetic right hand used by ``inference.phantom``.

Shapes are defined in hand coordinates in mm: x across the hand (columns, thumb side at
low x), y from the fingertips to the forearm (rows), z from palmar to dorsal (slices). The
hand frame is 160 × 160 mm in-plane and 40 mm deep and is mapped onto the matrix whatever
its size, so a coarse test matrix contains the same anatomy at a lower resolution.
Anatomy is simple on purpose: ellipsoids and capsules (segments with a radius) per bone,
joint, muscle, tendon and vessel, painted in order so that later tissues cover earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.measure import points_in_poly

TISSUE_CODES = {
    0: "air",
    1: "skin",
    2: "fat",
    3: "muscle",
    4: "bone_marrow",
    5: "cortical_bone",
    6: "tendon",
    7: "synovium",
    8: "synovitis",
    9: "synovitis_mild",
    10: "artery",
    11: "vein",
    12: "joint_fluid",
}
AIR, SKIN, FAT, MUSCLE, MARROW, CORTEX, TENDON = range(7)
SYNOVIUM, SYNOVITIS, SYNOVITIS_MILD, ARTERY, VEIN, FLUID = range(7, 13)

JOINT_NAMES = ("DRUJ", "RC", "IC-CMC", "MCP2", "MCP3", "MCP4", "MCP5")
HAND_SIDE = "R"

# Hand frame size in mm: (depth, rows, columns).
FRAME_MM = (40.0, 160.0, 160.0)


@dataclass
class Anatomy:
    """Painted hand: labels uint8 (S, R, C) and the joint index of each synovitis voxel.

    ``joint_of_voxel`` is int8 (S, R, C), −1 outside synovitis. ``joints`` are the joint
    records of truth.json, ``inflammation`` the lesion draws per joint and ``placement``
    the per-subject scale and shift of the hand.
    """

    labels: np.ndarray
    joint_of_voxel: np.ndarray
    joints: list[dict]
    inflammation: dict
    placement: dict


def build_anatomy(shape: tuple[int, int, int], rng: np.random.Generator) -> Anatomy:
    """Paint the tissue labels of a (slices, rows, columns) volume and place synovitis."""
    frame = _HandFrame(shape, rng)
    labels = np.zeros(frame.shape, dtype=np.uint8)
    body, depth_into_body = _paint_body(frame, labels)
    _paint_muscle(frame, labels, depth_into_body)
    _paint_tendons(frame, labels)
    bone = _paint_bones(frame, labels)

    joint_of_voxel = np.full(frame.shape, -1, dtype=np.int8)
    joints, inflammation = _paint_joints(frame, labels, bone, body, joint_of_voxel, rng)
    _paint_vessels(frame, labels, bone, body)
    labels[body & (depth_into_body <= max(SKIN_MM, *frame.spacing[1:]))] = SKIN

    _count_joint_voxels(joints, labels, joint_of_voxel)
    return Anatomy(labels, joint_of_voxel, joints, inflammation, frame.parameters())


# ----------------------------------------------------------------------------------------
# Hand frame and shape primitives
# ----------------------------------------------------------------------------------------


class _HandFrame:
    """Voxel grid of one geometry with voxel centres expressed in hand coordinates (mm).

    Hand coordinates: x across the hand (columns), y from the fingertips to the forearm
    (rows), z from palmar to dorsal (slices). A per-subject scale and shift move the hand
    inside the field of view.
    """

    def __init__(self, shape: tuple[int, int, int], rng: np.random.Generator) -> None:
        self.shape = tuple(shape)
        self.scale = float(rng.uniform(0.94, 1.04))
        self.shift = rng.uniform([-1.5, -3.0, -3.0], [1.5, 3.0, 3.0])

        # The depth axis keeps its size: the 40 mm frame is the hand's thickness budget.
        scales = (1.0, self.scale, self.scale)
        self.axes = []
        self.spacing = []
        for n, size, axis_scale, shift in zip(
            self.shape, FRAME_MM, scales, self.shift, strict=True
        ):
            step = size / n
            centre = size / 2.0
            frame_coords = (np.arange(n) + 0.5) * step
            self.axes.append((frame_coords - centre) / axis_scale + centre - shift)
            self.spacing.append(step / axis_scale)

    def parameters(self) -> dict:
        return {
            "hand": HAND_SIDE,
            "scale": self.scale,
            "shift_mm_depth_row_column": [float(v) for v in self.shift],
        }

    def window(self, low, high) -> tuple[slice, slice, slice]:
        """Index slices of the voxels whose centres lie in the box [low, high] (z, y, x)."""
        return tuple(
            slice(int(np.searchsorted(axis, lo)), int(np.searchsorted(axis, hi, side="right")))
            for axis, lo, hi in zip(self.axes, low, high, strict=True)
        )

    def coords(self, window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable z, y, x coordinates (mm) of the voxels in ``window``."""
        z, y, x = (axis[part] for axis, part in zip(self.axes, window, strict=True))
        return z[:, None, None], y[None, :, None], x[None, None, :]

    def index_of(self, point_zyx) -> list[int]:
        """Nearest voxel index (slice, row, column) of a hand-coordinate point, clipped."""
        return [
            int(np.clip(np.argmin(np.abs(axis - value)), 0, len(axis) - 1))
            for axis, value in zip(self.axes, point_zyx, strict=True)
        ]

    def empty(self) -> np.ndarray:
        return np.zeros(self.shape, dtype=bool)


def _ellipsoid(frame, centre, across, along, depth, direction=(0.0, 1.0)) -> np.ndarray:
    """Boolean (S, R, C) mask of an ellipsoid.

    ``centre`` is (x, y, z) in mm. ``along`` is the semi-axis on the in-plane ``direction``
    (x, y), ``across`` is the in-plane semi-axis perpendicular to it, and ``depth`` is the
    z semi-axis.
    """
    return _ellipsoid_radius(frame, centre, across, along, depth, direction) <= 1.0


def _ellipsoid_radius(frame, centre, across, along, depth, direction=(0.0, 1.0)) -> np.ndarray:
    """Normalised ellipsoid radius (≤ 1 inside) as float (S, R, C); +inf outside the box."""
    cx, cy, cz = centre
    reach = max(across, along)
    window = frame.window(
        (cz - depth, cy - reach, cx - reach), (cz + depth, cy + reach, cx + reach)
    )
    z, y, x = frame.coords(window)

    ux, uy = np.asarray(direction, dtype=float) / np.hypot(*direction)
    along_offset = (x - cx) * ux + (y - cy) * uy
    across_offset = -(x - cx) * uy + (y - cy) * ux
    radius = np.full(frame.shape, np.inf)
    radius[window] = np.sqrt(
        (across_offset / across) ** 2 + (along_offset / along) ** 2 + ((z - cz) / depth) ** 2
    )
    return radius


def _capsule(frame, start, end, radius, depth_radius=None) -> np.ndarray:
    """Boolean (S, R, C) mask of the points within ``radius`` mm of the segment start–end.

    ``start`` and ``end`` are (x, y, z) in mm. With ``depth_radius`` the capsule is
    flattened: z distances count ``radius / depth_radius`` times more.
    """
    depth_radius = radius if depth_radius is None else depth_radius
    a = np.asarray(start, dtype=float)
    b = np.asarray(end, dtype=float)
    low = np.minimum(a, b) - [radius, radius, depth_radius]
    high = np.maximum(a, b) + [radius, radius, depth_radius]
    window = frame.window(low[::-1], high[::-1])
    z, y, x = frame.coords(window)

    squash = radius / depth_radius
    segment = (b - a) * [1.0, 1.0, squash]
    offsets = (x - a[0], y - a[1], (z - a[2]) * squash)
    length_sq = float(segment @ segment) or 1.0
    t = sum(o * s for o, s in zip(offsets, segment, strict=True)) / length_sq
    t = np.clip(t, 0.0, 1.0)
    distance_sq = sum((o - t * s) ** 2 for o, s in zip(offsets, segment, strict=True))

    mask = frame.empty()
    mask[window] = distance_sq <= radius**2
    return mask


def _unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=float)
    return vector / np.hypot(*vector)


# ----------------------------------------------------------------------------------------
# Anatomy (hand coordinates in mm, right hand)
# ----------------------------------------------------------------------------------------

# Rays 1–5: metacarpal base, MCP joint centre and proximal phalanx tip (x, y), the
# metacarpal shaft radius and the depth of the bone axis.
RAYS = {
    1: {"base": (56.0, 98.0), "mcp": (36.0, 72.0), "tip": (24.0, 45.0), "radius": 3.8, "z": 16.0},
    2: {"base": (70.5, 95.0), "mcp": (62.0, 45.0), "tip": (55.0, 8.0), "radius": 4.0, "z": 20.0},
    3: {"base": (81.5, 94.0), "mcp": (80.0, 40.0), "tip": (79.0, -2.0), "radius": 4.2, "z": 20.0},
    4: {"base": (91.0, 96.0), "mcp": (97.0, 44.0), "tip": (103.0, 8.0), "radius": 3.8, "z": 20.0},
    5: {
        "base": (101.0, 98.0),
        "mcp": (113.0, 53.0),
        "tip": (124.0, 20.0),
        "radius": 3.5,
        "z": 20.0,
    },
}
FINGER_SOFT_TISSUE_RADIUS = {1: 10.5, 2: 8.5, 3: 9.0, 4: 8.5, 5: 7.5}
JOINT_GAP_MM = 1.0

# Carpal bones: centre (x, y, z), semi-axes (across, along, depth), long-axis direction.
CARPALS = {
    "trapezium": ((61.0, 108.0, 20.0), (5.5, 5.0, 6.5), (0.0, 1.0)),
    "trapezoid": ((72.5, 105.0, 20.0), (4.5, 4.5, 6.0), (0.0, 1.0)),
    "capitate": ((84.5, 110.0, 20.0), (6.0, 8.0, 7.5), (0.0, 1.0)),
    "hamate": ((97.0, 110.0, 20.0), (5.5, 7.0, 7.0), (0.0, 1.0)),
    "scaphoid": ((66.0, 122.0, 20.0), (5.0, 7.0, 6.5), (1.0, 0.25)),
    "lunate": ((81.0, 124.0, 20.0), (6.0, 5.0, 7.0), (0.0, 1.0)),
    "triquetrum": ((94.0, 121.0, 20.0), (5.0, 4.5, 6.0), (0.0, 1.0)),
    "pisiform": ((99.0, 119.0, 10.5), (3.5, 3.5, 3.5), (0.0, 1.0)),
    "radius_epiphysis": ((74.0, 139.0, 20.0), (15.0, 7.0, 9.0), (0.0, 1.0)),
    "ulna_head": ((98.5, 142.0, 20.0), (6.5, 6.0, 7.0), (0.0, 1.0)),
}
# Forearm shafts: start, end (x, y, z), in-plane radius, depth radius.
SHAFTS = {
    "radius": ((72.0, 150.0, 20.0), (72.0, 185.0, 20.0), 10.0, 8.0),
    "ulna": ((100.0, 152.0, 20.0), (100.0, 185.0, 20.0), 5.5, 5.5),
}

# Outline of palm and forearm (x, y) and the body half-thickness by row (y) in mm.
PALM_OUTLINE = (
    (50, 132), (52, 110), (54, 95), (56, 70), (58, 52), (64, 44), (80, 38), (97, 42),
    (112, 50), (121, 60), (122, 80), (119, 105), (116, 132), (118, 190), (48, 190),
)  # fmt: skip
HALF_THICKNESS_Y = (0.0, 45.0, 60.0, 100.0, 125.0, 160.0)
HALF_THICKNESS_MM = (8.5, 9.5, 13.0, 13.5, 14.0, 17.0)
BODY_MID_Z = 20.0
SKIN_MM = 1.5
CORTEX_MM = 1.3

# Vessels: (radius in mm, polyline of (x, y, z) points). The radii are rounded estimates of
# adult calibres: radial and ulnar arteries about 2.5 mm across at the wrist, palmar arches
# 1.6–1.8 mm, common palmar digital arteries 1.5 mm, proper digital arteries 1.2 mm and
# superficial dorsal veins 2–3 mm.
ARTERIES = (
    # Radial artery: palmar in the forearm, then dorsal through the snuffbox, past the
    # trapezium and through the first intermetacarpal space into the palm.
    (1.25, ((57, 185, 11), (57, 140, 11), (54, 126, 24), (57, 110, 26), (60, 97, 24),
            (64, 90, 14))),
    # Deep palmar arch, continuing the radial artery across the metacarpal bases.
    (0.8, ((64, 90, 14), (80, 86, 13.5), (102, 88, 13.5))),
    # Ulnar artery.
    (1.2, ((107, 185, 11), (107, 140, 11), (106, 122, 9.5), (104, 100, 9.5))),
    # Superficial palmar arch.
    (0.9, ((104, 100, 9.5), (98, 78, 9.5), (84, 72, 9.5), (70, 75, 9.5))),
    # Common palmar digital arteries, from the superficial arch into the intermetacarpal
    # spaces. They end inside the palm, short of the metacarpal heads.
    (0.75, ((72, 75, 9.5), (71, 62, 12), (71, 50, 14))),
    (0.75, ((88, 71, 9.5), (88.5, 60, 12), (88.5, 50, 14))),
    (0.75, ((98, 78, 9.5), (103, 68, 11.5), (104, 60, 13))),
)  # fmt: skip
PROPER_DIGITAL_RADIUS_MM = 0.6
# Proper digital arteries lie at the palmar surface of the phalanx (depth of its axis 19 mm),
# just beside the bone, deep enough to stay out of the skin at the thin finger edges.
DIGITAL_ARTERY_Z = 16.5
DIGITAL_ARTERY_GAP_MM = 1.6
# Proper digital arteries run along the sides of the proximal phalanx from this far distal to
# the MCP centre, outside the joint capsule.
DIGITAL_ARTERY_START_MM = 14.0
# Superficial dorsal veins only: the cephalic vein on the radial side, the dorsal venous arch
# over the metacarpal shafts and the basilic vein on the ulnar side. They stay proximal to
# the MCP joints and dorsal to the carpus, as the dorsal venous network does.
VEINS = (
    (1.3, ((57, 185, 27), (57, 140, 27), (57, 118, 27), (60, 95, 28.5), (68, 72, 29.5),
           (88, 66, 29.5), (104, 70, 29.5), (112, 90, 29.5), (110, 118, 29), (110, 140, 28),
           (110, 185, 28))),
)  # fmt: skip


def _paint_body(frame, labels) -> tuple[np.ndarray, np.ndarray]:
    """Fill the hand with fat; return the body mask and each voxel's depth into it (mm)."""
    outline = _body_outline(frame)
    spacing_yx = frame.spacing[1:]
    edge_distance = ndimage.distance_transform_edt(outline, sampling=spacing_yx)

    # Round the edges: the half-thickness follows a circle of radius h near the outline.
    half = np.interp(frame.axes[1], HALF_THICKNESS_Y, HALF_THICKNESS_MM)[:, None]
    inset = np.minimum(edge_distance, half)
    half_thickness = np.sqrt(np.maximum(half**2 - (half - inset) ** 2, 0.0)) * outline
    body = np.abs(frame.axes[0][:, None, None] - BODY_MID_Z) <= half_thickness[None]

    labels[body] = FAT
    depth = ndimage.distance_transform_edt(body, sampling=frame.spacing)
    return body, depth


def _body_outline(frame) -> np.ndarray:
    """In-plane (R, C) mask of palm, forearm, thenar eminence and fingers."""
    y = frame.axes[1][:, None]
    x = frame.axes[2][None, :]
    outline = _polygon_mask(y, x, PALM_OUTLINE)
    outline |= ((x - 58.0) / 11.0) ** 2 + ((y - 86.0) / 16.0) ** 2 <= 1.0

    for ray, spec in RAYS.items():
        start = spec["base"] if ray == 1 else spec["mcp"]
        tip = np.asarray(spec["tip"]) + 15.0 * _unit(np.subtract(spec["tip"], spec["mcp"]))
        outline |= _segment_distance_2d(y, x, start, tip) <= FINGER_SOFT_TISSUE_RADIUS[ray]
    return outline


def _polygon_mask(y, x, vertices) -> np.ndarray:
    """Mask of the grid points (y, x in mm) inside a polygon of (x, y) vertices."""
    yy, xx = np.broadcast_arrays(y, x)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    return points_in_poly(points, np.asarray(vertices, dtype=float)).reshape(yy.shape)


def _segment_distance_2d(y, x, start, end) -> np.ndarray:
    a = np.asarray(start, dtype=float)
    d = np.asarray(end, dtype=float) - a
    t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1]) / float(d @ d), 0.0, 1.0)
    return np.hypot(x - a[0] - t * d[0], y - a[1] - t * d[1])


def _paint_muscle(frame, labels, depth_into_body) -> None:
    """Thenar, hypothenar, adductor, interossei and forearm muscle, inside the fat."""
    muscle = _ellipsoid(frame, (60.0, 86.0, 12.5), 12.0, 18.0, 7.0, direction=(-0.6, -0.8))
    muscle |= _ellipsoid(frame, (70.0, 76.0, 13.0), 9.0, 6.0, 4.0)
    muscle |= _ellipsoid(frame, (113.0, 80.0, 15.0), 6.5, 18.0, 7.0)
    for left, right in ((2, 3), (3, 4), (4, 5)):
        base = (np.add(RAYS[left]["base"], RAYS[right]["base"]) / 2.0) + (0.0, -4.0)
        head = (np.add(RAYS[left]["mcp"], RAYS[right]["mcp"]) / 2.0) + (0.0, 8.0)
        muscle |= _capsule(frame, (*base, 20.0), (*head, 20.0), 3.5, 6.0)
        # Lumbrical, palmar to the interosseous space.
        muscle |= _capsule(frame, (*(base + head) / 2.0, 12.0), (*head, 12.5), 2.5, 2.5)

    forearm = (frame.axes[1] >= 140.0)[None, :, None] & (depth_into_body >= 3.0)
    labels[((muscle & (depth_into_body >= 2.0)) | forearm) & (labels == FAT)] = MUSCLE


def _paint_tendons(frame, labels) -> None:
    """Flexor (palmar) and extensor (dorsal) tendons of rays 2–5."""
    tendons = frame.empty()
    for ray in (2, 3, 4, 5):
        spec = RAYS[ray]
        forearm_x = 82.0 + (spec["base"][0] - 82.0) * 0.6
        for depths in ((10.0, 10.5, 12.5, 13.0, 14.0), (29.5, 29.5, 26.5, 26.5, 24.5)):
            points = (
                (forearm_x, 185.0, depths[0]),
                (forearm_x, 140.0, depths[0]),
                (spec["base"][0], 118.0, depths[1]),
                (*spec["base"], depths[2]),
                (*spec["mcp"], depths[3]),
                (*spec["tip"], depths[4]),
            )
            for start, end in zip(points[:-1], points[1:], strict=True):
                tendons |= _capsule(frame, start, end, 1.6, 1.2)
    labels[tendons & np.isin(labels, (FAT, MUSCLE))] = TENDON


def _paint_bones(frame, labels) -> np.ndarray:
    """Paint cortex (within ``CORTEX_MM`` of the surface) around marrow; return the bone mask."""
    bone = frame.empty()
    for spec in RAYS.values():
        bone |= _ray_bones(frame, spec)
    for centre, (across, along, depth), direction in CARPALS.values():
        bone |= _ellipsoid(frame, centre, across, along, depth, direction)
    for start, end, radius, depth_radius in SHAFTS.values():
        bone |= _capsule(frame, start, end, radius, depth_radius)

    depth_into_bone = ndimage.distance_transform_edt(bone, sampling=frame.spacing)
    labels[bone] = MARROW
    labels[bone & (depth_into_bone <= max(CORTEX_MM, *frame.spacing[1:]))] = CORTEX
    return bone


def _ray_bones(frame, spec) -> np.ndarray:
    """Metacarpal (shaft and head) and proximal phalanx (base and shaft) of one ray."""
    z = spec["z"]
    radius = spec["radius"]
    mcp = np.asarray(spec["mcp"])
    axis = _unit(mcp - spec["base"])
    finger_axis = _unit(np.subtract(spec["tip"], mcp))
    phalanx_radius = 0.8 * radius

    head_centre = mcp - (JOINT_GAP_MM + 4.5) * axis
    bones = _capsule(frame, (*spec["base"], z), (*head_centre, z), radius)
    bones |= _ellipsoid(frame, (*head_centre, z), radius + 1.3, 4.5, radius + 1.0, axis)

    base_centre = mcp + (JOINT_GAP_MM + 3.5) * finger_axis
    shaft_start = mcp + (JOINT_GAP_MM + phalanx_radius) * finger_axis
    z_finger = z - 1.0
    bones |= _ellipsoid(
        frame,
        (*base_centre, z_finger),
        phalanx_radius + 1.0,
        3.5,
        phalanx_radius + 0.8,
        finger_axis,
    )
    bones |= _capsule(frame, (*shaft_start, z_finger), (*spec["tip"], z_finger), phalanx_radius)
    return bones


def _paint_vessels(frame, labels, bone, body) -> None:
    """Arteries (palmar arches, digital arteries) and veins (dorsal network)."""
    arteries = frame.empty()
    for radius, points in ARTERIES + _proper_digital_arteries():
        arteries |= _vessel(frame, points, radius)
    veins = frame.empty()
    for radius, points in VEINS:
        veins |= _vessel(frame, points, radius)

    soft_tissue = body & ~bone
    labels[veins & soft_tissue] = VEIN
    labels[arteries & soft_tissue] = ARTERY


def _vessel(frame, points, radius) -> np.ndarray:
    """Tube along a polyline, at least wide and deep enough to stay one 26-connected piece.

    Each point of the centre line must reach its nearest voxel centre, which lies up to half
    a voxel away on every axis. Semi-axes of 0.87 voxel in-plane and in depth guarantee that
    (3 × 0.5² / 0.87² ≤ 1), so a thin vessel crossing thick slices keeps one voxel per step
    instead of breaking into pieces. Like skin and cortex, a vessel thinner than that is
    painted at the minimum size.
    """
    minimum = np.sqrt(3.0) / 2.0
    in_plane = max(radius, minimum * max(frame.spacing[1:]))
    depth = max(radius, minimum * frame.spacing[0])
    mask = frame.empty()
    for start, end in zip(points[:-1], points[1:], strict=True):
        mask |= _capsule(frame, start, end, in_plane, depth)
    return mask


def _proper_digital_arteries() -> tuple:
    """Two arteries along the sides of each proximal phalanx of rays 2–5.

    NOTE: they are not joined to the common palmar digital arteries. The division lies in the
    web between the fingers, which the rounded finger edges of this phantom leave too thin to
    hold a vessel, so each proper digital artery is a separate piece.
    """
    tubes = []
    for ray in (2, 3, 4, 5):
        spec = RAYS[ray]
        mcp = np.asarray(spec["mcp"])
        axis = _unit(np.subtract(spec["tip"], mcp))
        normal = np.array([-axis[1], axis[0]])
        offset = 0.8 * spec["radius"] + DIGITAL_ARTERY_GAP_MM
        for side in (-1.0, 1.0):
            start = mcp + DIGITAL_ARTERY_START_MM * axis + side * offset * normal
            end = np.asarray(spec["tip"]) + side * offset * normal
            points = ((*start, DIGITAL_ARTERY_Z), (*end, DIGITAL_ARTERY_Z))
            tubes.append((PROPER_DIGITAL_RADIUS_MM, points))
    return tuple(tubes)


# ----------------------------------------------------------------------------------------
# Joints and synovitis
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _JointSpec:
    """Ellipsoids of one synovitis site, semi-axes as (across, along, depth) in mm."""

    name: str
    centre: tuple[float, float, float]
    direction: tuple[float, float]
    synovium: tuple[float, float, float]
    fluid: tuple[float, float, float]
    fluid_offset: tuple[float, float, float]
    pannus: tuple[float, float, float]
    region: tuple[float, float, float]


def _joint_specs() -> list[_JointSpec]:
    """Build the ellipsoids of the 7 RAMRIS synovitis sites in ``JOINT_NAMES`` order."""
    specs = [
        _JointSpec("DRUJ", (90.5, 141.0, 20.0), (0.0, 1.0), (3.5, 7.0, 6.5), (1.2, 4.0, 4.0),
                   (0.0, 0.0, 0.0), (6.5, 9.0, 8.0), (10.0, 12.0, 10.0)),
        _JointSpec("RC", (76.0, 129.5, 20.0), (0.0, 1.0), (19.0, 3.5, 8.0), (13.0, 1.2, 5.0),
                   (0.0, 0.0, 0.0), (20.0, 6.0, 10.0), (24.0, 9.0, 12.0)),
        _JointSpec("IC-CMC", (83.0, 112.0, 20.0), (0.0, 1.0), (23.0, 16.0, 7.5), (10.0, 0.8, 4.0),
                   (-1.0, 5.5, 0.0), (17.0, 12.0, 9.0), (26.0, 19.0, 11.0)),
    ]  # fmt: skip
    for ray in (2, 3, 4, 5):
        spec = RAYS[ray]
        head = spec["radius"] + 1.3
        direction = tuple(_unit(np.subtract(spec["mcp"], spec["base"])))
        specs.append(
            _JointSpec(
                f"MCP{ray}", (*spec["mcp"], spec["z"] - 0.5), direction,
                (head + 2.5, 7.5, head + 2.0), (head, JOINT_GAP_MM, head - 0.5), (0.0, 0.0, 0.0),
                (head + 6.0, 10.0, head + 5.0), (head + 9.0, 13.0, head + 8.0),
            )
        )  # fmt: skip
    return specs


def _paint_joints(frame, labels, bone, body, joint_of_voxel, rng) -> tuple[list[dict], dict]:
    """Paint synovium, fluid and pannus of every joint; return the joint list and draws.

    1–4 joints get active pannus (code 8), sometimes with a mild rim (code 9); each other
    joint gets mild synovitis alone with probability 0.25.
    """
    specs = _joint_specs()
    soft_tissue = body & ~bone
    inflamed = set(rng.choice(len(specs), size=int(rng.integers(1, 5)), replace=False).tolist())

    # All linings first, so that one joint's synovium never covers another joint's pannus.
    for spec in specs:
        _paint_synovium(frame, labels, soft_tissue, spec)

    inflammation = {}
    for index, spec in enumerate(specs):
        lesion = _draw_lesion(rng, index in inflamed)
        if lesion is not None:
            _paint_pannus(frame, labels, soft_tissue, spec, lesion, joint_of_voxel, index)
            inflammation[spec.name] = lesion
    joints = [_joint_record(frame, spec, index in inflamed) for index, spec in enumerate(specs)]
    return joints, inflammation


def _paint_synovium(frame, labels, soft_tissue, spec: _JointSpec) -> None:
    labels[_ellipsoid(frame, spec.centre, *spec.synovium, spec.direction) & soft_tissue] = SYNOVIUM
    fluid_centre = np.add(spec.centre, spec.fluid_offset)
    labels[_ellipsoid(frame, fluid_centre, *spec.fluid, spec.direction) & soft_tissue] = FLUID


def _draw_lesion(rng, inflamed: bool) -> dict | None:
    """Extent, offset and active-core fraction of a joint's pannus, or None."""
    mild_only = not inflamed and rng.random() < 0.25
    if not (inflamed or mild_only):
        return None
    if inflamed:
        extent = rng.uniform(0.7, 1.0)
    else:
        extent = rng.uniform(0.4, 0.7)
    offset = rng.uniform([-2.0, -2.0, -1.0], [2.0, 2.0, 1.0])

    # The active core is the fraction of the normalised radius painted as code 8.
    if not inflamed:
        active_core = 0.0
    elif rng.random() < 0.5:
        active_core = rng.uniform(0.7, 0.9)
    else:
        active_core = 1.0
    return {
        "extent": float(extent),
        "offset_mm": offset.tolist(),
        "active_core": float(active_core),
    }


def _paint_pannus(frame, labels, soft_tissue, spec, lesion, joint_of_voxel, index) -> None:
    """Replace soft tissue (not fluid) by synovitis: code 8 in the core, 9 in the rim."""
    centre = np.add(spec.centre, lesion["offset_mm"])
    semi = np.multiply(spec.pannus, lesion["extent"])
    radius = _ellipsoid_radius(frame, centre, *semi, spec.direction)
    inside = (radius <= 1.0) & soft_tissue & (labels != FLUID)

    labels[inside] = SYNOVITIS_MILD
    labels[inside & (radius <= lesion["active_core"])] = SYNOVITIS
    joint_of_voxel[inside] = index


def _joint_record(frame, spec: _JointSpec, inflamed: bool) -> dict:
    """Joint entry of truth.json; voxel counts are filled in after all painting."""
    region = _ellipsoid(frame, spec.centre, *spec.region, spec.direction)
    if region.any():
        bounds = [np.flatnonzero(region.any(axis=other)) for other in ((1, 2), (0, 2), (0, 1))]
        box = [[int(b[0]), int(b[-1])] for b in bounds]
    else:
        centre_index = frame.index_of(spec.centre[::-1])
        box = [[i, i] for i in centre_index]
    return {
        "name": spec.name,
        "side": HAND_SIDE,
        "centre": frame.index_of(spec.centre[::-1]),
        "box": {"slices": box[0], "rows": box[1], "cols": box[2]},
        "inflamed": inflamed,
        "synovitis_voxels": 0,
    }


def _count_joint_voxels(joints, labels, joint_of_voxel) -> None:
    """Fill voxel counts per box; a joint stays inflamed only if its own code-8 voxels survived."""
    for index, joint in enumerate(joints):
        box = joint["box"]
        window = tuple(slice(lo, hi + 1) for lo, hi in (box["slices"], box["rows"], box["cols"]))
        joint["synovitis_voxels"] = int(np.count_nonzero(labels[window] == SYNOVITIS))
        joint["mild_synovitis_voxels"] = int(np.count_nonzero(labels[window] == SYNOVITIS_MILD))
        own = (joint_of_voxel == index) & (labels == SYNOVITIS)
        joint["inflamed"] = bool(joint["inflamed"] and own.any())

    if not any(joint["inflamed"] for joint in joints):
        raise ValueError(
            "no synovitis voxel survived rasterisation; use a finer geometry "
            f"(got {labels.shape} slices × rows × columns)"
        )
