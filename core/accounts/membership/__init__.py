"""Membership, as National Ugly Mugs runs it: sex workers apply, staff approve or decline.

The public form (/join) asks for a working name (never a legal name), an email and/or a mobile
number, how the person works and where. Everything they give is encrypted; the email and the
mobile are also kept as blind indexes, so staff see when an application repeats an earlier one
or an existing account without anyone's details being stored in clear.

Staff holding "admin.members" (administrators and moderators) work through the queue at
/admin/members: approving makes a member account and sends a one-time set-your-password link
(core.accounts.invitations); declining keeps the application, with an optional reason, until the
retention period (core setting declined_retention_days) has passed, then core.retention deletes
it. An instance switches the form off with the core setting accept_applications.

One job a module:
- settings.py: core's settings schema (CoreSettings: the form's lists, contact lines, link
  lifetime, declined-application retention) and core_settings();
- models.py: the application (MembershipApplication), its phone look-up and duplicates();
- forms.py: the application, approve and decline forms;
- views.py: the public form (/join) and the staff queue (/admin/members), blueprint "membership";
- tasks.py: the e-mails to applicants (declined, already has an account);
- retention.py: what is deleted for good, and when.
What the rest of core uses is imported here, so `core.accounts.membership.X` names it.
"""

from __future__ import annotations

from core.accounts.membership.models import MembershipApplication, duplicates, phone_lookup
from core.accounts.membership.retention import retention_rules
from core.accounts.membership.settings import CoreSettings, choice_label, core_settings
from core.accounts.membership.tasks import mail_application_declined, mail_existing_account
from core.accounts.membership.views import MANAGE_MEMBERS, bp

__all__ = [
    "MANAGE_MEMBERS", "CoreSettings", "MembershipApplication", "bp", "choice_label", "core_settings", "duplicates",
    "mail_application_declined", "mail_existing_account", "phone_lookup", "retention_rules",
]
