"""Core pages: home, language choice, health check, admin settings, error pages."""

from core.views import admin, audit, errors, public


def init_app(app) -> None:
    app.register_blueprint(public.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit.bp)
    errors.init_app(app)
    public.init_template_context(app)
