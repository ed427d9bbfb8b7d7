"""The admin's landing page: what needs attention now."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from core.auth import login_required


@login_required("admin")
def home() -> Any:
    """/admin: misunderstood phrases, failing test cases and the promise-kept rate."""
    return render_template("admin/home.html")


def register(bp: Blueprint) -> None:
    """Add the landing page to the admin blueprint."""
    bp.get("/")(home)
