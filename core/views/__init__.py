"""Core pages: home, language choice, health check, admin settings, error pages."""

from core.views import admin, audit, errors, languages, organisations, outbox, overview, public


def init_app(app) -> None:
    app.register_blueprint(public.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(overview.bp)
    app.register_blueprint(languages.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(outbox.bp)
    app.register_blueprint(organisations.bp)
    _register_webhooks(app)
    _register_federation(app)
    _register_wording(app)
    _register_account_pages(app)
    errors.init_app(app)
    public.init_template_context(app)


def _register_account_pages(app) -> None:
    """Membership applications, invitations and set-password links, and the profile page."""
    from core.accounts import invitations, membership, profile

    for blueprint in (membership.bp, invitations.bp, profile.bp):
        app.register_blueprint(blueprint)


def _register_webhooks(app) -> None:
    """Webhooks for partner systems: the admin pages of core.webhooks."""
    from core.webhooks.registration import blueprint

    app.register_blueprint(blueprint())


def _register_federation(app) -> None:
    """Federation between instances: /.well-known/redumbrella, the peer API and the admin pages."""
    from core.federation.registration import blueprints

    for blueprint in blueprints():
        app.register_blueprint(blueprint)


def _register_wording(app) -> None:
    """Local wording: the admin pages of core.wording."""
    from core.wording import views as wording

    app.register_blueprint(wording.bp)
