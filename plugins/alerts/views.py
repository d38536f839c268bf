"""Pages of the alerts plugin, under /alerts/."""

from flask import Blueprint, render_template

from core.permissions import requires

bp = Blueprint("alerts", __name__, url_prefix="/alerts", template_folder="templates")


@bp.route("/")
@requires("alerts.read")
def index():
    return render_template("alerts/index.html")
