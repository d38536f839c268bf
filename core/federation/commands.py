"""`redumbrella peers ...`: this instance's federation identity, its peers and sharing groups.

The CLI speaks English (like every command); each change is audited like the admin page's.
"""

from __future__ import annotations

import contextlib

import click
from flask.cli import with_appcontext


@click.group()
def peers():
    """Peer instances: add, list, remove, fetch their feeds, sharing groups, this instance's key."""


@contextlib.contextmanager
def _ready():
    """A database connection for the command, once the schema is known to be current."""
    from core.cli import _Db, _fail_if_behind

    with _Db():
        _fail_if_behind()
        yield


def _peer(name: str):
    from core.federation.peers import get

    found = get(name)
    if found is None:
        raise click.ClickException(f"no active peer called {name!r} (see `redumbrella peers list`)")
    return found


@peers.command("identity")
@with_appcontext
def identity_command():
    """This instance's public key and fingerprint, to give to another group's admin."""
    from core.federation import identity

    click.echo(f"public key:  {identity.public_key_b64()}")
    click.echo(f"fingerprint: {identity.fingerprint()}")


@peers.command("add")
@click.argument("url")
@click.option("--key", "key", required=True, help="The peer's public key, as its admin gave it to you.")
@click.option("--name", default=None, help="Its name here (default: the name it gives itself).")
@click.option("--auto-publish", is_flag=True, help="Publish its alerts at once instead of holding them for review.")
@with_appcontext
def add(url, key, name, auto_publish):
    """Add a peer by its address and public key. Compare the fingerprint printed with its admin."""
    from core.federation import service

    with _ready():
        published = service.fetch_identity(url) if service.check_base_url(url) else None
        try:
            peer = service.add_peer(url, key, name, auto_publish, published=published)
        except service.FederationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"added peer {peer.name!r}, fingerprint {peer.fingerprint}: read it with the other group's admin")
    if published is None:
        click.echo("(its address did not answer just now, so its key could not be checked there)")
    click.echo("nothing is exchanged until its admin adds this instance too")


@peers.command("list")
@with_appcontext
def list_command():
    """Every active peer with its fingerprint, settings and last exchange."""
    from core.federation.peers import active_peers

    with _ready():
        found = active_peers()
        for peer in found:
            state = "never fetched" if peer.last_pull_at is None else (
                f"ok {peer.last_ok_at:%Y-%m-%d %H:%M}" if peer.last_error is None else f"error {peer.last_error}")
            click.echo(f"{peer.name}\t{peer.base_url}\t{peer.fingerprint}\t"
                       f"{'auto-publish' if peer.auto_publish else 'hold for review'}\t{state}")
        if not found:
            click.echo("no peers")


@peers.command("remove")
@click.argument("name")
@with_appcontext
def remove(name):
    """Stop all exchange with a peer at once."""
    from core.federation import service

    with _ready():
        service.remove_peer(_peer(name))
    click.echo(f"removed peer {name!r}: nothing is exchanged with it any more")


@peers.command("pull")
@click.argument("name", required=False)
@with_appcontext
def pull_command(name):
    """Fetch the feed of one peer, or of every peer, now."""
    from core.federation.pull import pull, pull_all
    from core.federation.push import kick

    with _ready():
        if name:
            results = {name: pull(_peer(name))}
            kick()
        else:
            results = pull_all()
    failed = False
    for peer_name, counts in results.items():
        described = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()) if value) or "nothing new"
        click.echo(f"{peer_name}: {described}")
        failed = failed or bool(counts.get("error"))
    if failed:
        raise SystemExit(1)


@peers.command("push")
@click.option("--retry", is_flag=True, help="Also send again, now, what waits for a retry or gave up.")
@with_appcontext
def push_command(retry):
    """Send the waiting urgent messages to peers now."""
    from core.federation import push

    with _ready():
        if retry:
            push.retry_now()
        delivered = push.drain()
        waiting = push.OUTBOX.due_count()
    click.echo(f"delivered {delivered}, still waiting {waiting}")


@peers.command("regions")
@click.argument("name")
@click.argument("pairs", nargs=-1)
@with_appcontext
def regions(name, pairs):
    """Map a peer's region codes to ours: THEIRS=OURS ... (none: show the mapping)."""
    from core.federation import service

    with _ready():
        peer = _peer(name)
        if pairs:
            try:
                service.set_region_map(peer, service.parse_region_map("\n".join(pairs)))
            except service.FederationError as exc:
                raise click.ClickException(str(exc)) from None
            peer = _peer(name)
        for theirs, ours in peer.regions.items():
            click.echo(f"{theirs} = {ours}")


@peers.command("auto-publish")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@with_appcontext
def auto_publish(name, state):
    """Publish a peer's alerts at once (on) or hold them for a moderator's review (off)."""
    from core.federation import service

    with _ready():
        service.set_auto_publish(_peer(name), state == "on")
    click.echo(f"{name}: {'published at once' if state == 'on' else 'held for review'}")


@peers.command("set-key")
@click.argument("name")
@click.option("--key", "key", required=True, help="The peer's new public key.")
@with_appcontext
def set_key(name, key):
    """A peer replaced its signing key: put the new one here (compare its fingerprint)."""
    from core.federation import service

    with _ready():
        try:
            peer = service.set_key(_peer(name), key)
        except service.FederationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: new fingerprint {peer.fingerprint}")


@peers.command("rotate-key")
@click.option("--yes", is_flag=True, help="Do it without asking.")
@with_appcontext
def rotate_key(yes):
    """Replace this instance's signing key (after a compromise). Every peer must then be given the
    new key (`peers set-key`) before exchange starts again."""
    from core.audit import record
    from core.db import db
    from core.federation import identity

    if not yes:
        click.confirm("Every peer will refuse this instance until its admin enters the new key. Go on?", abort=True)
    from core.federation import feed, service

    with _ready():
        previous = identity.fingerprint()
        public = identity.rotate()
        with db.atomic():
            signed = feed.resign_all(previous)
            service.retire(previous)
            record("federation.key_rotated", target="federation")
    click.echo(f"new public key:  {public}")
    click.echo(f"new fingerprint: {identity.fingerprint()}")
    click.echo(f"{signed} shared item(s) signed again with the new key; give it to every peer's admin")


@peers.command("rotate-check-key")
@click.option("--yes", is_flag=True, help="Do it without asking.")
@with_appcontext
def rotate_check_key(yes):
    """Replace this instance's key of the blinded cross-instance check (core/federation/oprf.py),
    after it may have leaked. Peers fetch the new tokens by themselves within the hour (or at their
    next pull); until then their members' checks find nothing here."""
    from core.audit import record
    from core.db import db
    from core.federation import oprf

    if not yes:
        click.confirm("Peers' checks will find nothing here until they fetch the new tokens. Go on?", abort=True)
    with _ready():
        oprf.rotate()
        with db.atomic():
            record("federation.check_key_rotated", target="federation")
    click.echo("new check key made: peers fetch the new tokens within the hour")


@peers.group("group")
def group():
    """Sharing groups: named lists of peers an alert can be shared with."""


@group.command("create")
@click.argument("name")
@click.argument("members", nargs=-1)
@with_appcontext
def group_create(name, members):
    """Create a sharing group, with these peers (by name) as members."""
    from core.federation import service

    with _ready():
        try:
            created = service.create_group(name)
            service.set_members(created, [_peer(member) for member in members])
        except service.FederationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"sharing group {name!r}: {', '.join(members) or 'no members yet'}")


@group.command("members")
@click.argument("name")
@click.argument("members", nargs=-1)
@with_appcontext
def group_members(name, members):
    """Set a sharing group's members to exactly these peers (none given: show them)."""
    from core.federation import service
    from core.federation.models import SharingGroup

    with _ready():
        found = SharingGroup.get_or_none(SharingGroup.name == name)
        if found is None:
            raise click.ClickException(f"no sharing group called {name!r}")
        if members:
            service.set_members(found, [_peer(member) for member in members])
        click.echo(f"{name}: {', '.join(peer.name for peer in service.members_of(found)) or 'no members'}")
