"""Local wording (issue #12): an administrator changes any shipped message of any language.

An override is keyed by language, translation domain ("messages" for core, the plugin's name for a
plugin), context and the English msgid, so a new release keeps it; when a release no longer has
that msgid the override stays stored and is listed as no longer used.

- models.py    the two tables: the overrides, and one version number per language
- catalogs.py  the shipped messages, read from the catalogs the release installs
- checks.py    what an override must keep: placeholders, and the shipped message's HTML tags
- service.py   search, save, revert (audited; the language's version goes up in the same transaction)
- overlay.py   applying overrides at run time, over every catalog, on every worker
- po_io.py     export and import as a .po file
- views.py, commands.py   the admin pages and `redumbrella wording export|import`

docs/local-wording.md says what administrators do with it.
"""
