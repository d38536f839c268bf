"""Pages of the training plugin, under /training/."""

from flask import Blueprint, render_template

from core.permissions import PUBLIC, requires
from plugins.training.models import Course

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="templates")


@bp.route("/")
@requires(PUBLIC)
def index():
    courses = Course.select().order_by(Course.title)
    return render_template("training/index.html", courses=courses)
