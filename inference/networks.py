"""Per-pixel TIC classifiers, built by name.

Every network takes float32 features (B, C * G) as written by ``inference.features`` (C
channels of G grid points, channel-major) and returns logits (B, n_classes).

- ``tic_cnn1d``: small 1-D CNN on the features (fast default on a CPU).
- ``resnet18_1d``: MONAI ResNet-18 with 1-D convolutions on the features.
- ``resnet50_2d``: MONAI ResNet-50 on rendered TIC shape images, the architecture family of
  the EULAR 2022 POS1391 abstract. On a CPU it is for small fidelity studies, not for whole
  volumes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch
from monai.networks import nets
from torch import nn

from inference.features import render_tic_images

_ACTIVATIONS: dict[str, type[nn.Module]] = {"selu": nn.SELU, "relu": nn.ReLU}


class TicCnn1d(nn.Module):
    """Dilated causal 1-D convolutions, global mean and max pooling, then one linear layer.

    Input (B, in_channels * G) float32; output logits (B, n_classes). Each convolution pads
    only on the left, so an output at time t depends only on grid points up to t.
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        in_channels: int = 1,
        width: int = 32,
        kernel_size: int = 3,
        dilations: tuple[int, ...] = (1, 2, 4),
        activation: str = "selu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_points = _points_per_channel(n_inputs, in_channels)
        activation_class = _choose(_ACTIVATIONS, activation, "activation")

        layers: list[nn.Module] = []
        channels = in_channels
        for dilation in dilations:
            layers.append(nn.ConstantPad1d(((kernel_size - 1) * dilation, 0), 0.0))
            layers.append(nn.Conv1d(channels, width, kernel_size, dilation=dilation))
            layers.append(activation_class())
            channels = width
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * width, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.reshape(features.shape[0], self.in_channels, self.n_points)
        x = self.body(x)
        pooled = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)
        return self.head(self.dropout(pooled))


class TicResNet1d(nn.Module):
    """MONAI ResNet-18 with ``spatial_dims=1`` on the (B, C, G) feature channels."""

    def __init__(self, n_inputs: int, n_classes: int, in_channels: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_points = _points_per_channel(n_inputs, in_channels)
        self.resnet = nets.resnet18(
            spatial_dims=1, n_input_channels=in_channels, num_classes=n_classes
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.reshape(features.shape[0], self.in_channels, self.n_points)
        return self.resnet(x)


class TicImageResNet50(nn.Module):
    """MONAI ResNet-50 (2-D, 3 input channels) on TIC shape images rendered from the features.

    The image is drawn from feature channel ``image_channel`` (the z-score channel) with
    ``render_tic_images``: a 2 px black line on white, y = z-score clipped to [-3, 3]. The
    standardisation fitted in training leaves that channel unchanged up to rounding, because
    every TIC in it already has mean 0 and SD 1. The grey image is scaled to [0, 1] and
    repeated into 3 channels. Rendering runs in numpy on the CPU without gradients, which the
    inputs do not need.

    conv1_t_stride defaults to 2, the usual ResNet-50 stem; MONAI's own default of 1 costs
    four times the compute at the same image size.
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        in_channels: int = 1,
        image_channel: int = 0,
        image_size: int = 224,
        conv1_t_stride: int = 2,
    ) -> None:
        super().__init__()
        if not 0 <= image_channel < in_channels:
            raise ValueError(
                f"Invalid image_channel {image_channel}: the features have {in_channels} channels."
            )
        self.in_channels = in_channels
        self.n_points = _points_per_channel(n_inputs, in_channels)
        self.image_channel = image_channel
        self.image_size = image_size
        self.resnet = nets.resnet50(
            spatial_dims=2,
            n_input_channels=3,
            num_classes=n_classes,
            conv1_t_stride=conv1_t_stride,
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        start = self.image_channel * self.n_points
        curves = features[:, start : start + self.n_points].detach().float().cpu().numpy()
        images = render_tic_images(curves, size=self.image_size)
        grey = torch.from_numpy(images.astype(np.float32) / 255.0).to(features.device)
        return self.resnet(grey[:, None].expand(-1, 3, -1, -1))


NETWORKS: dict[str, Callable[..., nn.Module]] = {
    "tic_cnn1d": TicCnn1d,
    "resnet18_1d": TicResNet1d,
    "resnet50_2d": TicImageResNet50,
}


def build_network(name: str, n_inputs: int, n_classes: int, **hparams) -> nn.Module:
    """Build the network registered as ``name`` for (B, n_inputs) features and n_classes.

    hparams are passed to the network's constructor (``in_channels`` is the number of feature
    channels C). Raises ValueError for an unknown name or hyper-parameter, listing the valid
    ones.
    """
    network_class = _choose(NETWORKS, name, "architecture")
    accepted = [p for p in inspect.signature(network_class).parameters if p not in _SIZE_ARGS]
    unknown = sorted(set(hparams) - set(accepted))
    if unknown:
        raise ValueError(
            f"Unknown hyper-parameters {unknown} for architecture {name!r}; valid: "
            f"{', '.join(accepted)}."
        )
    return network_class(n_inputs, n_classes, **hparams)


_SIZE_ARGS = ("n_inputs", "n_classes")


def _choose(options: dict, name: str, kind: str):
    if name not in options:
        raise ValueError(f"Unknown {kind} {name!r}; valid choices: {', '.join(options)}.")
    return options[name]


def _points_per_channel(n_inputs: int, in_channels: int) -> int:
    if in_channels < 1 or n_inputs % in_channels:
        raise ValueError(
            f"{n_inputs} input features cannot be split into {in_channels} equal channels."
        )
    return n_inputs // in_channels
