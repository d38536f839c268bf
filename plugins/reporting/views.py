"""Pages of the reporting plugin, under /reporting/."""

from flask import Blueprint, render_template

from core.permissions import PUBLIC, requires
from core.settings import plugin_settings

bp = Blueprint("reporting", __name__, url_prefix="/reporting", template_folder="templates")


@bp.route("/")
@requires(PUBLIC)
def index():
    return render_template("reporting/index.html", settings=plugin_settings("reporting"))
