"""Pages under /dropins/."""

from core.audit import record
from core.permissions import PUBLIC, requires
from core.settings import plugin_settings
from flask import Blueprint, flash, redirect, render_template, url_for

from redumbrella_dropins import _
from redumbrella_dropins.forms import DropInForm
from redumbrella_dropins.models import DropIn
from redumbrella_dropins.tasks import dropin_listed

# Its templates are found in templates/ beside hooks.py: no template_folder needed.
bp = Blueprint("dropins", __name__, url_prefix="/dropins")


def listed():
    return DropIn.select().order_by(DropIn.area, DropIn.name)


@bp.route("/")
@requires(PUBLIC)
def index():
    return render_template("dropins/index.html", dropins=listed(), settings=plugin_settings("dropins"))


@bp.route("/new", methods=["GET", "POST"])
@requires("dropins.manage")
def new():
    form = DropInForm()
    if form.validate_on_submit():
        dropin = DropIn.create(name=form.name.data, area=form.area.data, opening_times=form.opening_times.data or "")
        record("dropins.created", target=f"dropin:{dropin.id}")  # codes and ids only
        dropin_listed(dropin.id)  # enqueue: the row is committed already (autocommit)
        flash(_("The drop-in is listed."), "info")
        return redirect(url_for("dropins.index"), code=303)
    return render_template("dropins/new.html", form=form), 422 if form.errors else 200
