"""Renderers for the AWS service steps: Lambda, EMR, Callback (registered into codegen.RENDERERS)."""

from __future__ import annotations
