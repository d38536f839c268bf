"""Pages of the casework plugin, under /casework/."""

from flask import Blueprint, render_template

from core.permissions import requires

bp = Blueprint("casework", __name__, url_prefix="/casework", template_folder="templates")


@bp.route("/")
@requires("casework.cases")
def index():
    return render_template("casework/index.html")
