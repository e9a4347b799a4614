"""A background job as its owner reads it (data/jobs): queued, working with progress, or
failed. Shared by the pages that start jobs (Rapportages, Gemeentelijke bronnen)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def job_status(job: dict, prefix: str = "rapportages", failed: str = "Niet gemaakt"):
    """A job as the user reads it: queued, working (with progress), or failed with ``failed``
    and its error (the page shows a finished job's outcome itself). Element ids start with
    ``prefix`` ("rapportages" for "Nu maken", "concept" for a release, "bronnen")."""
    if job["status"] == "failed":
        return dbc.Alert(f"{failed}: {job['error']}", color="danger",
                         id=f"{prefix}-taak-fout")
    if job["status"] == "queued":
        return dbc.Alert("In de wachtrij…", color="info", id=f"{prefix}-taak-wacht")
    done, total = job["done"], job["total"]
    percent = int(100 * done / total) if total else 0
    return dbc.Alert([html.Span("Bezig…", className="me-2"),
                      dbc.Progress(value=percent, label=f"{percent}%", className="mt-1",
                                   id=f"{prefix}-taak-voortgang")],
                     color="info", id=f"{prefix}-taak-bezig")
