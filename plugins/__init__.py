"""The built-in plugins. Each is a pluggy plugin registered through the redumbrella.plugins entry point."""
