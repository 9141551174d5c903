"""Message modules, one per area of the web app; see controller/web/i18n.py."""
