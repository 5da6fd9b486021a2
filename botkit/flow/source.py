"""Reading YAML the way the flow compiler does, for whoever else reads designer-written files.

Conversation tests (``*.test.yaml``) and ``--fixtures`` files are YAML written by the same people
as the flows, so they are read by the same reader: YAML 1.2 scalars (``yes`` stays text),
duplicate keys, anchors and tags refused, size and depth capped, and the position of every key
and value kept, so a problem points at the spot to change, as a flow problem does.

This module is the reader's public door. Its pieces live in the flow package's private modules
(``_yaml`` reads, ``_report`` collects problems), which only ``botkit.flow`` itself may import
(a layer test checks); other layers import them from here.
"""

from __future__ import annotations

from botkit.flow._report import Reporter, Where
from botkit.flow._yaml import Document, JSONPath, read_file, read_text

__all__ = ["Document", "JSONPath", "Reporter", "Where", "read_file", "read_text"]
