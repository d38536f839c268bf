"""The hooks through which plugins extend Red Umbrella.

Each hook is documented in full (signature, when it is called, an example) in
docs/plugin-hooks.md; tests/test_hook_docs.py fails when one is not. Core never calls
pm.hook.* itself: it goes through core.plugins.PluginRegistry, which skips disabled plugins.
"""

import pluggy

PROJECT = "redumbrella"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def check_config(app):
    """Check the plugin's own instance settings at start-up; raise core.config.ConfigError (one line)."""


@hookspec
def register_blueprints(app):
    """Return the Flask blueprints of one plugin; core registers them and 404s them while disabled."""


@hookspec
def register_migrations(app):
    """Return the folder of one plugin's numbered migrations (NNNN_name.py with up(migrator, db)).
    Optional: without it, core uses the migrations/ folder beside the plugin's hooks module."""


@hookspec
def register_roles(app):
    """Return the core.permissions.Role objects a plugin defines (name, label, whether staff)."""


@hookspec
def register_permissions(app):
    """Return the core.permissions.Permission objects a plugin defines, with the roles that hold them."""


@hookspec
def audit_actions(app):
    """Return {audit action code: lazy label} for the codes a plugin records, so the audit log page
    shows words; a code nobody labels is shown as it is."""


@hookspec
def register_translations(app):
    """Return the plugin's core.i18n.PluginDomain so its pages use its own catalog. Optional:
    without it, core uses its package's `domain`, or one for the translations/ folder beside it."""


@hookspec
def register_tasks(app):
    """Return the core.queue.TaskSpec objects of a plugin; core binds them to the queue."""


@hookspec
def register_commands(app):
    """Return click commands; they appear as `redumbrella <plugin> <command>`."""


@hookspec(firstresult=True)
def settings_schema(app):
    """Return a marshmallow Schema class whose fields form the plugin's admin settings page."""


@hookspec
def nav_items(app, user):
    """Return core.navigation.NavItem entries for the main navigation of the current request."""


@hookspec
def retention_rules(app):
    """Return core.retention.RetentionRule objects: what expires and when it is deleted."""


@hookspec
def demo_data(app, accounts):
    """Fill a fresh instance with clearly fake sample data; accounts maps role name to user."""


@hookspec
def plugin_enabled(app, name):
    """Called once when plugin `name` is enabled (by CLI or admin page), after the change is saved."""


@hookspec
def plugin_disabled(app, name):
    """Called once when plugin `name` is disabled, after the change is saved; data must be kept."""


@hookspec
def register_api(app, spec):
    """Add the plugin's JSON API paths and schemas to the apispec.APISpec behind /api/v1/openapi.json."""


@hookspec
def access_paused(app, user, permission):
    """Return None, or a message (text or core.permissions.AccessPaused) pausing a signed-in
    person's use of a permission they hold; called on enabled plugins before each such request."""


@hookspec
def page_blocks(app, slot, user):
    """Return None, a core.slots.PageBlock or a list of them for a core page's slot: "home" (the
    home page; for a signed-in person, their own things first), "profile" or "admin_overview".
    Called on enabled plugins, once per page; render the body with core.slots.render_block."""


@hookspec
def register_mail_kinds(app):
    """Return the core.mail.MailKind objects (name, label, permission) of the e-mails a plugin queues
    with core.mail.queue_mail, so staff see those not sent at /admin/messages; called on enabled plugins."""


@hookspec
def register_webhook_events(app):
    """Return the core.webhooks.WebhookEvent objects (name, label, what its data holds) a plugin sends to
    partner systems with core.webhooks.emit; called on every installed plugin."""


@hookspec
def account_erased(app, user_id):
    """Delete or anonymise everything the plugin holds for account `user_id`, which is being erased:
    called on every installed plugin, enabled or not, inside the erasure's transaction, before core
    deletes the account row. Must be idempotent; see docs/plugin-hooks.md#account_erased."""


@hookspec
def register_federation_kinds(app):
    """Return the core.federation.FederatedKind objects (a kind name such as "alert", and the
    functions that make, correct and withdraw the local copy of one received from a peer) of the
    things this plugin shares with peer instances through core.federation.feed; called on enabled
    plugins. See docs/plugin-hooks.md#register_federation_kinds."""
